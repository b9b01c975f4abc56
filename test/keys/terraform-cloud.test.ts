/**
 * The app's keys into its Terraform Cloud workspaces (migrator/src/keys/terraform-cloud.ts), against a local HTTP
 * server that answers the few Terraform Cloud API v2 calls used (the workspace by name, its variables, create, update)
 * and records them: sensitive variables, created once and updated in place after (idempotent), the token of
 * `terraform login`, and neither the token nor a value in any message. Also `npm run keys` on bad input.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { createLogger } from '../../migrator/src/log';
import { rotateKey } from '../../migrator/src/keys/rotate';
import type { RotationTarget } from '../../migrator/src/keys/rotation-steps';
import {
  credentialsFile,
  TerraformCloudError,
  terraformCloudToken,
  tokenEnvVar,
  writeKeysToTerraformCloud,
  type TerraformCloudApp,
} from '../../migrator/src/keys/terraform-cloud';
import { ConfigError } from '../../workspaces/errors';
import { runCliScript } from '../helpers/cli';
import { FakeKeys } from '../helpers/fake-keys';
import { tmpDirPerFile } from '../helpers/tmp';

const tmp = tmpDirPerFile('bm-tfc-');
const TOKEN = 'tfc-team-token.atlasv1.0123456789abcdefTESTONLY';

interface Recorded {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  body?: any;
}

interface Var {
  id: string;
  key: string;
  value: string | null;
  category: string;
  sensitive: boolean;
  hcl: boolean;
  description?: string;
}

/** Terraform Cloud's API for one organization, as far as bucketmove uses it. */
class FakeTerraformCloud {
  readonly calls: Recorded[] = [];
  readonly vars = new Map<string, Var[]>();
  readonly workspaceIds = new Map<string, string>();
  status?: number;
  private server = http.createServer((req, res) => this.answer(req, res));
  private serial = 0;

  constructor(
    readonly organization: string,
    workspaces: Record<string, Var[]>,
  ) {
    for (const [name, vars] of Object.entries(workspaces)) {
      const id = `ws-${name.replace(/[^a-z0-9]/g, '')}`;
      this.workspaceIds.set(name, id);
      this.vars.set(id, vars);
    }
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const body = text ? JSON.parse(text) : undefined;
      this.calls.push({
        method: req.method!,
        path: req.url!,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
      });
      const send = (status: number, doc: unknown) => {
        res.writeHead(status, { 'content-type': 'application/vnd.api+json' });
        res.end(JSON.stringify(doc));
      };
      if (this.status)
        return send(this.status, {
          errors: [{ status: String(this.status), title: this.status === 401 ? 'unauthorized' : 'not found' }],
        });
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return send(401, { errors: [{ status: '401', title: 'unauthorized' }] });
      const ws = /^\/api\/v2\/organizations\/([^/]+)\/workspaces\/([^/]+)$/.exec(req.url!);
      if (req.method === 'GET' && ws) {
        const id =
          decodeURIComponent(ws[1]) === this.organization
            ? this.workspaceIds.get(decodeURIComponent(ws[2]))
            : undefined;
        return id
          ? send(200, { data: { id, type: 'workspaces', attributes: { name: ws[2] } } })
          : send(404, { errors: [{ status: '404', title: 'not found' }] });
      }
      const list = /^\/api\/v2\/workspaces\/([^/]+)\/vars$/.exec(req.url!);
      const one = /^\/api\/v2\/workspaces\/([^/]+)\/vars\/([^/]+)$/.exec(req.url!);
      const vars = this.vars.get((list ?? one)?.[1] ?? '');
      if (!vars) return send(404, { errors: [{ status: '404', title: 'not found' }] });
      const view = (v: Var) => ({
        id: v.id,
        type: 'vars',
        attributes: {
          key: v.key,
          value: v.sensitive ? null : v.value,
          category: v.category,
          sensitive: v.sensitive,
          hcl: v.hcl,
        },
      });
      if (req.method === 'GET' && list) return send(200, { data: vars.map(view) });
      if (req.method === 'POST' && list) {
        const a = body.data.attributes;
        const v: Var = {
          id: `var-${++this.serial}`,
          key: a.key,
          value: a.value,
          category: a.category,
          sensitive: a.sensitive,
          hcl: a.hcl,
          description: a.description,
        };
        vars.push(v);
        return send(201, { data: view(v) });
      }
      if (req.method === 'PATCH' && one) {
        const v = vars.find((x) => x.id === one[2]);
        if (!v) return send(404, { errors: [{ status: '404', title: 'not found' }] });
        Object.assign(v, body.data.attributes);
        return send(200, { data: view(v) });
      }
      send(405, { errors: [{ status: '405', title: 'method not allowed' }] });
    });
  }
}

const keys = { accessKeyId: 'AKIANEWKEY0000000001', secretAccessKey: 'n3wS3cretHalfOfTheKey/ForTheTestOnly0000' };
const app = (baseUrl: string, o: Partial<TerraformCloudApp> = {}): TerraformCloudApp => ({
  baseUrl,
  organization: 'acme-health',
  workspaces: ['chat-app-prod'],
  variables: { accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY' },
  category: 'env',
  ...o,
});
const summary = (calls: Recorded[]) => calls.map((c) => `${c.method} ${c.path}`);

describe('writeKeysToTerraformCloud', () => {
  let tfc: FakeTerraformCloud;
  let url: string;
  beforeEach(async () => {
    tfc = new FakeTerraformCloud('acme-health', {
      'chat-app-prod': [
        // An old plain variable of the same key: updated in place, and made sensitive.
        {
          id: 'var-old1',
          key: 'AWS_ACCESS_KEY_ID',
          value: 'AKIAOLDKEY',
          category: 'env',
          sensitive: false,
          hcl: false,
        },
        // The same key as a Terraform input variable: another variable, left alone.
        {
          id: 'var-tf1',
          key: 'AWS_SECRET_ACCESS_KEY',
          value: null,
          category: 'terraform',
          sensitive: true,
          hcl: false,
        },
      ],
      'chat-app-prod-worker': [],
    });
    url = await tfc.start();
  });
  afterEach(() => tfc.close());

  it('finds each workspace, lists its variables, updates the one that exists and creates the other, all sensitive', async () => {
    const out = await writeKeysToTerraformCloud(
      app(url, { workspaces: ['chat-app-prod', 'chat-app-prod-worker'] }),
      keys,
      { token: TOKEN, userName: 'chat-app-prod' },
    );
    expect(out).toEqual([
      { workspace: 'chat-app-prod', created: ['AWS_SECRET_ACCESS_KEY'], updated: ['AWS_ACCESS_KEY_ID'] },
      { workspace: 'chat-app-prod-worker', created: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], updated: [] },
    ]);
    expect(summary(tfc.calls)).toEqual([
      'GET /api/v2/organizations/acme-health/workspaces/chat-app-prod',
      'GET /api/v2/workspaces/ws-chatappprod/vars',
      'PATCH /api/v2/workspaces/ws-chatappprod/vars/var-old1',
      'POST /api/v2/workspaces/ws-chatappprod/vars',
      'GET /api/v2/organizations/acme-health/workspaces/chat-app-prod-worker',
      'GET /api/v2/workspaces/ws-chatappprodworker/vars',
      'POST /api/v2/workspaces/ws-chatappprodworker/vars',
      'POST /api/v2/workspaces/ws-chatappprodworker/vars',
    ]);
    for (const c of tfc.calls)
      expect([c.authorization, c.contentType]).toEqual([`Bearer ${TOKEN}`, 'application/vnd.api+json']);
    expect(tfc.calls[2].body).toEqual({
      data: {
        type: 'vars',
        id: 'var-old1',
        attributes: { value: keys.accessKeyId, sensitive: true, description: expect.stringContaining('chat-app-prod') },
      },
    });
    expect(tfc.calls[3].body.data).toEqual({
      type: 'vars',
      attributes: {
        key: 'AWS_SECRET_ACCESS_KEY',
        value: keys.secretAccessKey,
        category: 'env',
        hcl: false,
        sensitive: true,
        description: expect.any(String),
      },
    });
    const prod = tfc.vars.get('ws-chatappprod')!;
    expect(prod.map((v) => [v.key, v.category, v.sensitive, v.value])).toEqual([
      ['AWS_ACCESS_KEY_ID', 'env', true, keys.accessKeyId],
      ['AWS_SECRET_ACCESS_KEY', 'terraform', true, null],
      ['AWS_SECRET_ACCESS_KEY', 'env', true, keys.secretAccessKey],
    ]);
  });

  it('is idempotent: a second run updates the same variables in place and creates nothing', async () => {
    await writeKeysToTerraformCloud(app(url), keys, { token: TOKEN, userName: 'chat-app-prod' });
    const first = tfc.calls.length;
    const next = { accessKeyId: 'AKIANEWERKEY00000002', secretAccessKey: 'another/SecretHalf0000000000000000000000' };
    expect(await writeKeysToTerraformCloud(app(url), next, { token: TOKEN, userName: 'chat-app-prod' })).toEqual([
      { workspace: 'chat-app-prod', created: [], updated: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] },
    ]);
    expect(summary(tfc.calls.slice(first))).toEqual([
      'GET /api/v2/organizations/acme-health/workspaces/chat-app-prod',
      'GET /api/v2/workspaces/ws-chatappprod/vars',
      'PATCH /api/v2/workspaces/ws-chatappprod/vars/var-old1',
      'PATCH /api/v2/workspaces/ws-chatappprod/vars/var-1',
    ]);
    expect(
      tfc.vars
        .get('ws-chatappprod')!
        .filter((v) => v.category === 'env')
        .map((v) => v.value),
    ).toEqual([next.accessKeyId, next.secretAccessKey]);
  });

  it('names the variables and the category as the workspace file says', async () => {
    await writeKeysToTerraformCloud(
      app(url, {
        workspaces: ['chat-app-prod-worker'],
        variables: { accessKeyId: 'photos_key_id', secretAccessKey: 'photos_secret' },
        category: 'terraform',
      }),
      keys,
      {
        token: TOKEN,
        userName: 'chat-app-prod',
      },
    );
    expect(tfc.vars.get('ws-chatappprodworker')!.map((v) => [v.key, v.category, v.sensitive])).toEqual([
      ['photos_key_id', 'terraform', true],
      ['photos_secret', 'terraform', true],
    ]);
  });

  it('a refused token or a missing workspace: one line with the status and what to do, never the token or a value', async () => {
    const errorOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected a failure');
    };
    const refused = await errorOf(writeKeysToTerraformCloud(app(url), keys, { token: 'wrong-token', userName: 'u' }));
    expect(refused).toBeInstanceOf(TerraformCloudError);
    expect(refused.message).toBe(
      'Terraform Cloud GET /organizations/acme-health/workspaces/chat-app-prod: HTTP 401 (unauthorized): the token was refused; run `terraform login` again',
    );
    const missing = await errorOf(
      writeKeysToTerraformCloud(app(url, { workspaces: ['nope'] }), keys, { token: TOKEN, userName: 'u' }),
    );
    expect(missing.message).toBe(
      'Terraform Cloud GET /organizations/acme-health/workspaces/nope: HTTP 404 (not found): not found, or the token may not see it',
    );
    for (const e of [refused, missing]) {
      expect(e.message).not.toContain(TOKEN);
      expect(e.message).not.toContain(keys.secretAccessKey);
    }
  });
});

describe('the token of `terraform login`', () => {
  it('reads TF_TOKEN_<host> first (dots as _, hyphens as __), then ~/.terraform.d/credentials.tfrc.json', () => {
    expect(tokenEnvVar('app.terraform.io')).toBe('TF_TOKEN_app_terraform_io');
    expect(tokenEnvVar('tfe.my-corp.example')).toBe('TF_TOKEN_tfe_my__corp_example');
    const home = tmp();
    expect(terraformCloudToken('app.terraform.io', { TF_TOKEN_app_terraform_io: TOKEN }, home)).toBe(TOKEN);
    fs.mkdirSync(path.dirname(credentialsFile(home)), { recursive: true });
    fs.writeFileSync(
      credentialsFile(home),
      JSON.stringify({ credentials: { 'app.terraform.io': { token: 'from-file' } } }),
    );
    expect(terraformCloudToken('app.terraform.io', {}, home)).toBe('from-file');
    expect(terraformCloudToken('app.terraform.io', { TF_TOKEN_app_terraform_io: TOKEN }, home)).toBe(TOKEN);
  });

  it('without one: a ConfigError saying to run terraform login', () => {
    const call = () => terraformCloudToken('app.terraform.io', {}, tmp());
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(
      'no Terraform Cloud token for app.terraform.io: run `terraform login app.terraform.io` (or set TF_TOKEN_app_terraform_io)',
    );
  });
});

describe('a rotation of the app user writes the new key into Terraform Cloud, after it is current and before the old one is deactivated', () => {
  it('records the calls; the token and the secret half are in no printed or logged line', async () => {
    const tfc = new FakeTerraformCloud('acme-health', { 'chat-app-prod': [] });
    const url = await tfc.start();
    const fake = new FakeKeys(
      'chat-app-prod',
      'arn:aws:iam::210987654321:user/chat-app-prod',
      'bucketmove/prod/chat-app-prod/aws-credentials',
      () => new Date('2026-11-30T10:00:00Z'),
    );
    const old = fake.seedCurrentKey(new Date('2026-01-01T00:00:00Z'));
    const logFile = path.join(tmp(), 'keys.log');
    const said: string[] = [];
    const order: string[] = [];
    const t: RotationTarget = {
      iam: fake.iam,
      secrets: fake.secrets,
      secretId: fake.secretName,
      userName: fake.userName,
      userArn: fake.userArn,
      bucket: 'acme-chat-photos-prod',
      graceMs: 7 * 86_400_000,
      prove: { clientsFor: fake.clientsFor, sleep: async () => undefined },
      log: createLogger({ name: 'test-keys', destination: logFile }),
      now: () => new Date('2026-11-30T10:00:00Z'),
    };
    try {
      const res = await rotateKey(t, {
        env: 'prod',
        user: 'app',
        say: (l) => said.push(l),
        terraformCloud: {
          app: app(url),
          token: () => TOKEN,
          fetch: async (...a: Parameters<typeof fetch>) => {
            order.push(`tfc:${fake.keys.get(old)!.status}`);
            return fetch(...a);
          },
        },
      });
      expect(summary(tfc.calls)).toEqual([
        'GET /api/v2/organizations/acme-health/workspaces/chat-app-prod',
        'GET /api/v2/workspaces/ws-chatappprod/vars',
        'POST /api/v2/workspaces/ws-chatappprod/vars',
        'POST /api/v2/workspaces/ws-chatappprod/vars',
      ]);
      expect(tfc.vars.get('ws-chatappprod')!.map((v) => [v.key, v.value, v.sensitive])).toEqual([
        ['AWS_ACCESS_KEY_ID', res.newKeyId, true],
        ['AWS_SECRET_ACCESS_KEY', fake.keys.get(res.newKeyId)!.secret, true],
      ]);
      // Written while the old key was still active (the app can be redeployed before it goes), then it was deactivated.
      expect(new Set(order)).toEqual(new Set(['tfc:Active']));
      expect(fake.keys.get(old)!.status).toBe('Inactive');
      expect(said).toContain(
        'Terraform Cloud workspace chat-app-prod: AWS_ACCESS_KEY_ID created, AWS_SECRET_ACCESS_KEY created (sensitive, env)',
      );
      const out = `${said.join('\n')}\n${fs.readFileSync(logFile, 'utf8')}`;
      expect(out).not.toContain(TOKEN);
      for (const secret of fake.issuedSecrets) expect(out).not.toContain(secret);
    } finally {
      fake.destroy();
      await tfc.close();
    }
  });
});

describe('npm run keys on bad input: one line, exit 2, nothing changed', () => {
  it.each([
    [
      ['rotate', '--env', 'local'],
      /^keys: env "local" has target "s3-compatible": its keys are not managed by bucketmove/,
    ],
    [
      ['spin', '--env', 'prod'],
      /^keys: Invalid values: Argument: action, Given: "spin", Choices: "rotate", "finish", "terraform-cloud", "status"; see --help$/,
    ],
    [
      ['rotate', '--env', 'prod', '--grace', 'soon'],
      /^keys: --grace must be a duration such as 30m, 12h, 7d or 2w \(got "soon"\)$/,
    ],
    [
      ['status', '--env', 'prod', '--user', 'dev'],
      /^keys: env "prod" has no dev user \(primary\.devUser exists in the dev workspace only\)$/,
    ],
    [
      ['terraform-cloud', '--env', 'dev', '--user', 'dev'],
      /^keys: terraform-cloud writes the app user's key into terraformCloud\.app\.workspaces/,
    ],
    [
      ['rotate', '--env', 'prod'],
      /^keys: no Terraform Cloud token for app\.terraform\.io: run `terraform login app\.terraform\.io` \(or set TF_TOKEN_app_terraform_io\)$/,
    ],
  ])(
    '%j',
    async (args, message) => {
      const run = await runCliScript('keys', args, {
        env: { HOME: tmp(), TF_TOKEN_app_terraform_io: '', AWS_EC2_METADATA_DISABLED: 'true' },
      });
      expect(run.stderr.trim()).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.code).toBe(2);
    },
    120_000,
  );
});
