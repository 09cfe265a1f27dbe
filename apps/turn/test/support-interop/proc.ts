// Process accounting from /proc (Linux): the benchmark's server CPU and the machine's conditions.

import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on (x86-64 and arm64 Debian)
const PAGE = 4096;

export interface ProcSample {
  /** utime + stime of all threads, seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

/** /proc/<pid>/stat: utime (field 14) + stime (15) cover every thread of the process; rss is field 24. */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rss = Number(fields[21]);
  return { cpuSeconds: (utime + stime) / CLK_TCK, rssBytes: rss * PAGE };
}

/** System-wide UDP counters from /proc/net/snmp (RcvbufErrors = datagrams the kernel dropped on full sockets). */
export function udpCounters(): { inDatagrams: number; rcvbufErrors: number; sndbufErrors: number } {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  const get = (name: string): number => values[names.indexOf(name)] ?? 0;
  return { inDatagrams: get('InDatagrams'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

/** Busy fraction of all CPUs between two /proc/stat samples. */
export function cpuTotals(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return { busy: total - idle, total };
}
