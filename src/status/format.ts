// The `netcg status` screen: one block per profile (match, members, features,
// its rules' counters, drift), then the shared base chains. Fits 80 columns; with
// rates (--watch) two more columns show packets/s and bytes/s.
import pc from 'picocolors';

import type {
  GatewayStatus,
  ListenerStatus,
  ProfileStatus,
  Rates,
  RuleCounter,
  ServerStatus,
  StatusSnapshot,
} from './model.js';
import { ruleRateKey } from './build.js';

export interface ScreenOptions {
  color: boolean;
  /** Terminal width; lines are cut to it. Default 80. */
  width?: number;
  /** Per-second rates (watch mode); without them the rate columns are left out. */
  rates?: Rates;
  /** Watch mode's footer. */
  footer?: string;
}

const LABEL = 38;

/** 1234 -> "1234", 12345678 -> "12.3M": at most 7 characters. */
export function compactCount(n: number): string {
  if (n < 100_000) return String(Math.round(n));
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** Bytes the way top/ip -h print them: 840B, 1.2K, 34M (powers of 1024). */
export function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

function rate(n: number): string {
  return n === 0 ? '0' : n < 10 ? n.toFixed(1) : compactCount(n);
}

function cut(s: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = s.replace(/\x1b\[[0-9;]*m/g, '');
  if (visible.length <= width) return s;
  return `${visible.slice(0, width - 1)}…`;
}

function fitWidth(label: string, width: number): string {
  return label.length <= width ? label.padEnd(width) : `${label.slice(0, width - 1)}…`;
}

export function matchText(p: ProfileStatus): string {
  if (p.match.kind === 'net_cls') return `classid ${p.match.classid ?? '?'}`;
  const existing = p.match.existing;
  if (existing) {
    const where = p.match.cgroup?.replace(/^.*?(\/[^/]+)$/, '$1') ?? '';
    if (existing.length === 0) return `waiting for ${where}`;
    return `existing ${existing.length === 1 ? `id ${existing[0]!.id}` : `${existing.length} cgroups`}`;
  }
  return `cgroup v2 ${p.match.id !== undefined ? `id ${p.match.id}` : '(no cgroup yet)'}`;
}

/** ` gateway auto → 198.18.0.2`, ` gateway 198.18.0.2`, ` gateway auto → none (unreachable)`. */
function gatewayText(key: string, g: GatewayStatus | undefined): string {
  if (!g) return '';
  const now = g.current ?? 'none (unreachable)';
  return g.configured === g.current ? ` ${key} ${now}` : ` ${key} ${g.configured} → ${now}`;
}

export function featuresText(p: ProfileStatus): string {
  const f = p.features;
  const parts: string[] = [];
  if (f.dns) parts.push(`dns → :${f.dns.redirect}${f.dns.server ? ` (server ${f.dns.server})` : ''}`);
  if (f.ipv6) parts.push('ipv6 reject');
  if (f.route)
    parts.push(
      `via ${f.route.via} (${f.route.link})${gatewayText('gateway', f.route.gateway)}${gatewayText('gateway6', f.route.gateway6)} table ${f.route.table} mark 0x${f.route.mark.toString(16)}${f.route.allocated ? ' (picked)' : ''}`,
    );
  if (f.network) parts.push(`network ${f.network}`);
  if (f.proxy)
    parts.push(
      `tcp → proxy :${f.proxy.tcp}${f.proxy.server ? ` (server ${f.proxy.server})` : ''}${f.proxy.udp ? ' · udp reject' : ''}`,
    );
  return parts.join(' · ');
}

/** `udp 127.0.0.1 · uid 0 root · pid 812 dnsmasq`: a socket bound to a redirect port and who holds it. */
export function listenerText(l: ListenerStatus): string {
  const who = l.processes.map((p) => `pid ${p.pid} ${p.comm}`).join(', ') || 'no process visible';
  const user = l.user === String(l.uid) ? `uid ${l.uid}` : `uid ${l.uid} ${l.user}`;
  return `${l.protocol} ${l.address} · ${user} · ${who}`;
}

/** A redirect port's block: the server the config names, then each socket bound there, and each protocol nobody serves. */
function serverLines(s: ServerStatus, c: ReturnType<typeof pc.createColors>): string[] {
  const uid = s.server.uid === null ? c.red('no such user') : `uid ${s.server.uid}`;
  const lines = [`  ${s.kind} :${s.port} (${s.profiles.join(', ')}) · server ${s.server.user} (${uid})`];
  for (const l of s.listeners)
    lines.push(`    ${listenerText(l)}${l.server ? '' : ` · ${c.red('impostor (dropped)')}`}`);
  const missing = s.protocols.filter((proto) => !s.listeners.some((l) => l.protocol === proto && l.server));
  if (missing.length > 0)
    lines.push(
      c.yellow(
        `    no socket of ${s.server.user} on ${missing.join('/')} :${s.port}: members' ${s.kind === 'dns' ? 'lookups' : 'connections'} fail`,
      ),
    );
  return lines;
}

export function formatStatus(s: StatusSnapshot, opts: ScreenOptions): string[] {
  const c = pc.createColors(opts.color);
  const width = opts.width ?? 80;
  const rates = opts.rates;
  const lines: string[] = [];
  const clock = new Date(s.time).toTimeString().slice(0, 8);
  const where = s.netns ?? 'this netns';
  const state = !s.table.exists ? c.red('NOT APPLIED') : s.inSync ? c.green('in sync') : c.yellow('DRIFT');
  // The namespace path goes last: it is the part a narrow terminal may cut.
  lines.push(`${c.bold('netcg status')} ${clock} · inet ${s.table.name} · ${state} · ${where}`);
  const head = `  ${'RULE'.padEnd(LABEL)}${'PACKETS'.padStart(9)}${'BYTES'.padStart(9)}${rates ? `${'PKT/S'.padStart(9)}${'B/S'.padStart(9)}` : ''}`;
  lines.push(c.dim(head));

  const ruleLine = (r: RuleCounter, i: number, label: string) => {
    const rt = rates?.rules.get(ruleRateKey(r, i));
    const nums = `${compactCount(r.packets).padStart(9)}${humanBytes(r.bytes).padStart(9)}`;
    const rateCols = rates
      ? `${rate(rt?.packets ?? 0).padStart(9)}${humanBytes(rt?.bytes ?? 0).padStart(9)}`
      : '';
    return `  ${fitWidth(label, LABEL)}${nums}${rateCols}`;
  };

  for (const p of s.profiles) {
    const members = `${p.members} member${p.members === 1 ? '' : 's'}`;
    const pr = rates?.profiles.get(p.name);
    const rateText = pr ? ` · ${rate(pr.packets)} pkt/s ${humanBytes(pr.bytes)}/s` : '';
    lines.push(
      `${c.bold(c.cyan(p.name))} · ${matchText(p)} · ${members}${rateText}${p.drift.length > 0 ? ` · ${c.yellow('drift')}` : ''}`,
    );
    lines.push(`  ${featuresText(p)}`);
    for (const [i, r] of p.rules.entries()) lines.push(ruleLine(r, i, r.rule));
    for (const d of p.drift) lines.push(c.yellow(`  ! ${d}`));
  }
  if (s.servers.length > 0) {
    lines.push(c.bold('servers'));
    for (const server of s.servers) lines.push(...serverLines(server, c));
  }
  if (s.shared.rules.length > 0 || s.shared.drift.length > 0) {
    lines.push(c.bold('shared base chains'));
    for (const [i, r] of s.shared.rules.entries()) lines.push(ruleLine(r, i, `${r.chain}: ${r.rule}`));
    for (const d of s.shared.drift) lines.push(c.yellow(`  ! ${d}`));
  }
  if (!s.table.exists) lines.push(c.yellow(`table inet ${s.table.name} does not exist: run \`netcg apply\``));
  else if (!s.inSync) lines.push(c.yellow('drift: `netcg diff` shows the plan, `netcg apply` repairs it'));
  if (opts.footer) lines.push(c.dim(opts.footer));
  return lines.map((l) => cut(l, width));
}
