/**
 * Where QuestDB is. `BARFLOW_QUESTDB` holds a QuestDB client configuration string
 * (`http::addr=host:9000;` plus optional `username=…;password=…;`): it is handed to the ILP sender
 * unchanged and also gives the host and port of the HTTP `/exec` endpoint. The PG wire endpoint
 * defaults to the same host on port 8812 with QuestDB's default credentials, and can be set with
 * `BARFLOW_QUESTDB_PG` (`postgres://user:password@host:port/qdb`).
 */
export interface QuestDbEndpoint {
  /** ILP client configuration string. */
  ilp: string;
  /** Base URL of the HTTP server (`http://host:port`). */
  httpUrl: string;
  httpAuth: { username: string; password: string } | null;
  pg: { host: string; port: number; user: string; password: string; database: string };
}

export const DEFAULT_QUESTDB = 'http::addr=127.0.0.1:9000;';

export function parseQuestDbEndpoint(config: string = DEFAULT_QUESTDB, pgUrl?: string): QuestDbEndpoint {
  const m = /^(https?)::(.*)$/.exec(config.trim());
  if (!m) {
    throw new Error(`BARFLOW_QUESTDB must be a QuestDB HTTP client config such as "http::addr=127.0.0.1:9000;", got ${JSON.stringify(config)}`);
  }
  const scheme = m[1]!;
  const params = new Map<string, string>();
  for (const part of m[2]!.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const addr = params.get('addr');
  if (!addr) throw new Error(`BARFLOW_QUESTDB has no addr=host:port: ${JSON.stringify(config)}`);
  const [host, portText] = addr.includes(':') ? [addr.slice(0, addr.lastIndexOf(':')), addr.slice(addr.lastIndexOf(':') + 1)] : [addr, '9000'];
  const username = params.get('username');
  const password = params.get('password');
  const ilp = config.trim().endsWith(';') ? config.trim() : `${config.trim()};`;
  const pg = pgUrl ? parsePgUrl(pgUrl) : { host, port: 8812, user: 'admin', password: 'quest', database: 'qdb' };
  return {
    ilp,
    httpUrl: `${scheme}://${host}:${Number(portText)}`,
    httpAuth: username && password ? { username, password } : null,
    pg,
  };
}

function parsePgUrl(text: string): QuestDbEndpoint['pg'] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`BARFLOW_QUESTDB_PG must be a URL like postgres://admin:quest@127.0.0.1:8812/qdb, got ${JSON.stringify(text)}`);
  }
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 8812,
    user: decodeURIComponent(url.username || 'admin'),
    password: decodeURIComponent(url.password || 'quest'),
    database: url.pathname.replace(/^\//, '') || 'qdb',
  };
}

/** The endpoint named by the environment, or the local default. */
export function questDbEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): QuestDbEndpoint {
  return parseQuestDbEndpoint(env.BARFLOW_QUESTDB || DEFAULT_QUESTDB, env.BARFLOW_QUESTDB_PG || undefined);
}

/** The PG wire endpoint as a URL, the form BARFLOW_QUESTDB_PG takes. */
export function pgUrlOf(endpoint: QuestDbEndpoint): string {
  const { user, password, host, port, database } = endpoint.pg;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${database}`;
}
