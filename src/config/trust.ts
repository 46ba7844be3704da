// Whether a config file can be shaped only by root: the decision, pure. The caller
// (trust-fs.ts) walks the path the way the kernel resolves it and hands over what
// lstat said about every step; this says what is wrong with each, and the fix.
//
// The rule (docs/config.md#who-may-shape-the-config): the config file, every
// directory the resolution passes through (from /) and every symbolic link on the
// way must be owned by root, and none of them may be group- or world-writable.
// One exception, the one the kernel makes safe: a root-owned directory with the
// sticky bit (/tmp, /var/tmp) may be world-writable, because there nobody but
// root and an entry's owner can rename, replace or delete the entry — and every
// entry on the path must be root's anyway. A link's own mode (always 0777 on
// Linux) means nothing and is not checked; its owner is.

/** What lstat(2) said about one step of the path. */
export interface PathFact {
  readonly path: string;
  /** `config` the file finally read, `directory` one passed through, `link` a symbolic link followed. */
  readonly role: 'config' | 'directory' | 'link';
  readonly uid: number;
  /** st_mode's permission bits, sticky bit included (st_mode & 0o7777). */
  readonly mode: number;
}

export interface TrustFinding {
  readonly path: string;
  readonly role: PathFact['role'];
  readonly problem: 'owner' | 'group-writable' | 'world-writable';
  /** e.g. "/etc/netcg/config.yaml (the config file) is world-writable (mode 0666)". */
  readonly message: string;
  /** The command that fixes it, e.g. "chmod go-w /etc/netcg/config.yaml". */
  readonly fix: string;
}

const STICKY = 0o1000;
const GROUP_WRITE = 0o020;
const WORLD_WRITE = 0o002;

const ROLE_TEXT: Readonly<Record<PathFact['role'], string>> = {
  config: 'the config file',
  directory: 'a directory on its path',
  link: 'a symbolic link on its path',
};

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** The single-quoted path when it has characters a shell would read, else as is. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

function findingsOf(fact: PathFact): TrustFinding[] {
  const what = `${fact.path} (${ROLE_TEXT[fact.role]})`;
  const out: TrustFinding[] = [];
  if (fact.uid !== 0)
    out.push({
      path: fact.path,
      role: fact.role,
      problem: 'owner',
      message: `${what} is owned by uid ${fact.uid}, not root`,
      fix: `chown ${fact.role === 'link' ? '-h ' : ''}root:root ${shellWord(fact.path)}`,
    });
  if (fact.role === 'link') return out;
  const stickyRoot = fact.role === 'directory' && (fact.mode & STICKY) !== 0 && fact.uid === 0;
  const group = (fact.mode & GROUP_WRITE) !== 0 && !stickyRoot;
  const world = (fact.mode & WORLD_WRITE) !== 0 && !stickyRoot;
  if (group || world)
    out.push({
      path: fact.path,
      role: fact.role,
      problem: world ? 'world-writable' : 'group-writable',
      message: `${what} is ${group && world ? 'group- and world' : world ? 'world' : 'group'}-writable (mode ${octal(fact.mode)})`,
      fix: `chmod go-w ${shellWord(fact.path)}`,
    });
  return out;
}

/** Every reason someone other than root could change what `facts` resolve to; empty when only root can. */
export function trustFindings(facts: readonly PathFact[]): TrustFinding[] {
  const seen = new Set<string>();
  const out: TrustFinding[] = [];
  for (const fact of facts) {
    const key = `${fact.role} ${fact.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(...findingsOf(fact));
  }
  return out;
}

/** The refusal's text: the file, then one line per finding with its fix. */
export function untrustedMessage(file: string, findings: readonly TrustFinding[]): string {
  return [
    `refusing the config ${file}: netcg runs as root, and someone other than root can change what it reads`,
    ...findings.map((f) => `${f.message}; fix: ${f.fix}`),
    'or pass --trust-config to use it anyway',
  ].join('\n');
}
