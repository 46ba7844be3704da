// netcg's error classes. Every error a user or a program sees carries a stable
// `code` (for scripts and --json), and a message that says what is wrong and where.
// Kernel errors come from the addon as NetlinkError (src/native/errors.ts), which
// extends NetcgError too.

export class NetcgError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetcgError';
    this.code = code;
  }
}

/** One problem in a config file, located like a compiler diagnostic. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, e.g. 'profiles.vpn.route.via'. */
  path: string;
  message: string;
}

/** A config file that cannot be used; lists every issue found, one per line as FILE:LINE:COL: KEY: message. */
export class ConfigError extends NetcgError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(
      'ECONFIG',
      issues
        .map((i) => `${i.file}:${i.line}:${i.col}: ${i.path ? `${i.path}: ` : ''}${i.message}`)
        .join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
