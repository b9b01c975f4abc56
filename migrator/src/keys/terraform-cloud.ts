/**
 * The app user's keys into the app's Terraform Cloud workspaces (the workspace file's `terraformCloud.app`), after a
 * rotation: two sensitive variables per workspace, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY unless named
 * otherwise, of category env (what the AWS provider reads in a run) or terraform.
 *
 * Through the Terraform Cloud API v2 (Terraform Cloud / Terraform Enterprise docs, "Workspace variables API"), three
 * calls per workspace and one per variable:
 *   GET   /api/v2/organizations/:organization/workspaces/:name     the workspace's id
 *   GET   /api/v2/workspaces/:workspace_id/vars                     its variables
 *   PATCH /api/v2/workspaces/:workspace_id/vars/:variable_id        a variable of that key and category exists: new value
 *   POST  /api/v2/workspaces/:workspace_id/vars                     else: created
 * so running it again changes nothing but the values (idempotent). Every variable is written `sensitive: true`
 * (Terraform Cloud then never shows or returns its value).
 *
 * The token is the one `terraform login` stored: TF_TOKEN_<host> (dots as "_", hyphens as "__", as Terraform reads
 * it), else `credentials.<host>.token` in ~/.terraform.d/credentials.tfrc.json. The token and the values are never
 * printed, logged or put in an error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from '../../../workspaces/errors';
import type { KeyPair } from './credentials-secret';

export const DEFAULT_TFC_HOSTNAME = 'app.terraform.io';

export interface TerraformCloudApp {
  /** https://<hostname> (a test's local server: http://127.0.0.1:<port>). */
  readonly baseUrl: string;
  readonly organization: string;
  readonly workspaces: readonly string[];
  readonly variables: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly category: 'env' | 'terraform';
}

/** The environment variable Terraform reads a host's token from (TF_TOKEN_app_terraform_io). */
export function tokenEnvVar(hostname: string): string {
  return `TF_TOKEN_${hostname.replace(/-/g, '__').replace(/\./g, '_')}`;
}

/** The credentials file `terraform login` writes. */
export function credentialsFile(home = os.homedir()): string {
  return path.join(home, '.terraform.d', 'credentials.tfrc.json');
}

/** The API token for `hostname`, from the environment or the credentials file; a one-line ConfigError if none. */
export function terraformCloudToken(
  hostname = DEFAULT_TFC_HOSTNAME,
  env: NodeJS.ProcessEnv = process.env,
  home = os.homedir(),
): string {
  const fromEnv = env[tokenEnvVar(hostname)]?.trim();
  if (fromEnv) return fromEnv;
  const file = credentialsFile(home);
  if (fs.existsSync(file)) {
    let token: unknown;
    try {
      token = (JSON.parse(fs.readFileSync(file, 'utf8')) as { credentials?: Record<string, { token?: unknown }> })
        .credentials?.[hostname]?.token;
    } catch {
      throw new ConfigError(`${file} is not valid JSON: run \`terraform login ${hostname}\` again`);
    }
    if (typeof token === 'string' && token) return token;
  }
  throw new ConfigError(
    `no Terraform Cloud token for ${hostname}: run \`terraform login ${hostname}\` (or set ${tokenEnvVar(hostname)})`,
  );
}

export class TerraformCloudError extends Error {
  override readonly name = 'TerraformCloudError';
}

interface JsonApiVar {
  id: string;
  attributes: { key: string; category: string; sensitive?: boolean };
}

/** What was written into one workspace. */
export interface WorkspaceWrite {
  readonly workspace: string;
  readonly created: string[];
  readonly updated: string[];
}

export interface WriteOptions {
  readonly token: string;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** The user the keys belong to (the variables' description names it). */
  readonly userName: string;
}

async function api<T>(
  app: TerraformCloudApp,
  o: WriteOptions,
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const res = await (o.fetch ?? fetch)(`${app.baseUrl.replace(/\/$/, '')}/api/v2${route}`, {
    method,
    headers: {
      Authorization: `Bearer ${o.token}`,
      'Content-Type': 'application/vnd.api+json',
      Accept: 'application/vnd.api+json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let title = '';
    try {
      const first = (JSON.parse(text) as { errors?: { title?: string; detail?: string }[] }).errors?.[0];
      title = [first?.title, first?.detail].filter(Boolean).join(': ');
    } catch {
      // not JSON:API
    }
    const hint =
      res.status === 401
        ? ': the token was refused; run `terraform login` again'
        : res.status === 404
          ? ': not found, or the token may not see it'
          : '';
    // The route names the organization, workspace or variable id; the request body (the values) is never repeated.
    throw new TerraformCloudError(
      `Terraform Cloud ${method} ${route}: HTTP ${res.status}${title ? ` (${title})` : ''}${hint}`,
    );
  }
  return (text ? JSON.parse(text) : {}) as T;
}

/** Writes the key pair into every app workspace as sensitive variables; returns what was created and updated. */
export async function writeKeysToTerraformCloud(
  app: TerraformCloudApp,
  keys: KeyPair,
  o: WriteOptions,
): Promise<WorkspaceWrite[]> {
  const values: [string, string][] = [
    [app.variables.accessKeyId, keys.accessKeyId],
    [app.variables.secretAccessKey, keys.secretAccessKey],
  ];
  const written: WorkspaceWrite[] = [];
  for (const name of app.workspaces) {
    const ws = await api<{ data: { id: string } }>(
      app,
      o,
      'GET',
      `/organizations/${encodeURIComponent(app.organization)}/workspaces/${encodeURIComponent(name)}`,
    );
    const id = ws.data.id;
    const existing = (await api<{ data: JsonApiVar[] }>(app, o, 'GET', `/workspaces/${id}/vars`)).data;
    const result: WorkspaceWrite = { workspace: name, created: [], updated: [] };
    for (const [key, value] of values) {
      const description = `Access key of IAM user ${o.userName}, written by bucketmove after each rotation (npm run keys)`;
      const found = existing.find((v) => v.attributes.key === key && v.attributes.category === app.category);
      if (found) {
        await api(app, o, 'PATCH', `/workspaces/${id}/vars/${found.id}`, {
          data: { type: 'vars', id: found.id, attributes: { value, sensitive: true, description } },
        });
        result.updated.push(key);
      } else {
        await api(app, o, 'POST', `/workspaces/${id}/vars`, {
          data: {
            type: 'vars',
            attributes: { key, value, category: app.category, hcl: false, sensitive: true, description },
          },
        });
        result.created.push(key);
      }
    }
    written.push(result);
  }
  return written;
}
