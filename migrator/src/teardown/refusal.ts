/** The gate said no: one line with every reason, and what to do about it. */
export class TeardownRefusal extends Error {
  override readonly name = 'TeardownRefusal';
  constructor(readonly reasons: string[]) {
    super(`refused: ${reasons.join('; ')}`);
  }
}
