/**
 * What the primary stack, `npm run keys` and the key rotation function agree on: which users have access keys, the
 * Secrets Manager secret that holds each user's key pair, and the JSON the secret's value is.
 */
import type { Workspace } from './schema';

/** The users whose access keys bucketmove rotates: the app's, and in the dev workspace the local-development user. */
export type KeyUser = 'app' | 'dev';
export const KEY_USERS: readonly KeyUser[] = ['app', 'dev'];

/** The name of the Secrets Manager secret that holds a user's access key pair. */
export function credentialsSecretName(env: string, userName: string): string {
  return `bucketmove/${env}/${userName}/aws-credentials`;
}

/** The IAM user name of `user` in a workspace, or undefined when the workspace has no such user (dev only). */
export function keyUserName(ws: Workspace, user: KeyUser): string | undefined {
  return user === 'app' ? ws.primary.appUser.name : ws.primary.devUser?.name;
}

/** The users of a workspace that have keys, with their IAM names and secrets. */
export function keyUsers(ws: Workspace): { user: KeyUser; userName: string; secretName: string }[] {
  return KEY_USERS.flatMap((user) => {
    const userName = keyUserName(ws, user);
    return userName ? [{ user, userName, secretName: credentialsSecretName(ws.env, userName) }] : [];
  });
}

/** The secret's value: the key pair as the environment variables the app reads. */
export interface CredentialsSecretValue {
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
}
