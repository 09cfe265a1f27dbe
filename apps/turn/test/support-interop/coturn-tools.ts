// coturn's test tools as reference client and echo peer (spec/turn.md §2.2, §5 T1):
// turnutils_peer (a UDP echo server) and turnutils_uclient (a TURN load client), with a parser for
// uclient's summary.

import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

import { HOST } from './servers.js';

export interface EchoPeer {
  port: number;
  pid: number;
  close(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  const port = s.address().port;
  s.close();
  return port;
}

/** Whether `port` answers an echo: resolves true once a datagram comes back. */
async function echoes(port: number, timeoutMs: number): Promise<boolean> {
  const s = createSocket('udp4');
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      s.on('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.send(Buffer.from('ping'), port, HOST);
    });
  } finally {
    s.close();
  }
}

/** turnutils_peer on a free loopback UDP port; resolves once it echoes. */
export async function startEchoPeer(): Promise<EchoPeer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeUdpPort();
    const child = spawn('/usr/bin/turnutils_peer', ['-L', HOST, '-p', String(port)], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await echoes(port, 200)) {
        return { port, pid: child.pid!, close: () => stop(child) };
      }
    }
    await stop(child);
  }
  throw new Error('turnutils_peer did not start echoing on a free loopback port');
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export type UclientTransport = 'udp' | 'tcp' | 'tls';
export type UclientMode = 'channel' | 'send';

export interface UclientRun {
  transport: UclientTransport;
  mode: UclientMode;
  /** -m: concurrent clients (one allocation each, with -c). */
  clients: number;
  /** -n: messages per client. */
  messages: number;
  /** -l: message length. */
  length: number;
  /** -z: interval per client, ms. */
  intervalMs: number;
  server: { port: number };
  peer: { port: number };
  /** -W (REST secret) or -w (static password). */
  auth: { secret: string } | { password: string };
  user: string;
  timeoutMs: number;
}

export interface UclientSummary {
  exitCode: number | null;
  timedOut: boolean;
  /** From the closing `start_mclient: tot_send_msgs=…, tot_recv_msgs=…` line; undefined if it never came. */
  sent: number | undefined;
  received: number | undefined;
  /** From `Total lost packets N (x%)`. */
  lost: number | undefined;
  sendDropped: number | undefined;
  avgRttMs: number | undefined;
  /** Lines uclient marks as errors (e.g. `ERROR: Cannot complete Allocation`). */
  errors: string[];
  command: string;
  output: string;
}

export function uclientArgs(run: UclientRun, host = HOST): string[] {
  const args: string[] = [];
  if (run.transport !== 'udp') args.push('-t');
  if (run.transport === 'tls') args.push('-S');
  if (run.mode === 'send') args.push('-s');
  args.push(...('secret' in run.auth ? ['-W', run.auth.secret] : ['-w', run.auth.password]));
  args.push('-u', run.user, '-e', host, '-r', String(run.peer.port), '-p', String(run.server.port));
  args.push('-m', String(run.clients), '-n', String(run.messages), '-l', String(run.length), '-z', String(run.intervalMs));
  // -c: no RTCP twin allocation, so one allocation per client (spec/turn.md §2.2 command lines)
  args.push('-c', host);
  return args;
}

/** Parses uclient's output (coturn 4.6 `startuclient.c`/`mainuclient.c` wording). */
export function parseUclientOutput(output: string): Pick<UclientSummary, 'sent' | 'received' | 'lost' | 'sendDropped' | 'avgRttMs' | 'errors'> {
  let sent: number | undefined;
  let received: number | undefined;
  let lost: number | undefined;
  let sendDropped: number | undefined;
  let avgRttMs: number | undefined;
  const errors: string[] = [];
  for (const line of output.split('\n')) {
    const totals = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/.exec(line);
    if (totals) {
      sent = Number(totals[1]);
      received = Number(totals[2]);
      continue;
    }
    const loss = /Total lost packets (\d+) \([^)]*\), total send dropped (\d+)/.exec(line);
    if (loss) {
      lost = Number(loss[1]);
      sendDropped = Number(loss[2]);
      continue;
    }
    const rtt = /Average round trip delay ([\d.]+) ms/.exec(line);
    if (rtt) {
      avgRttMs = Number(rtt[1]);
      continue;
    }
    // uclient tries older TLS protocol contexts first and logs each refusal ("tls_connect: cannot
    // connect: rc=-1" + "tlsv1 alert internal error") before a TLS 1.2+ context connects: not errors.
    if (/tls_connect: cannot connect: rc=-1|SSL routines::tlsv1 alert/.test(line)) continue;
    if (/ERROR|cannot connect|Connection refused|Cannot complete/i.test(line)) {
      errors.push(line.trim());
    }
  }
  return { sent, received, lost, sendDropped, avgRttMs, errors };
}

export async function runUclient(run: UclientRun): Promise<UclientSummary> {
  const args = uclientArgs(run);
  const shown = args.map((a, i) => (args[i - 1] === '-W' || args[i - 1] === '-w' ? '<secret>' : a));
  const command = `turnutils_uclient ${shown.join(' ')}`;
  const child = spawn('/usr/bin/turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (c: Buffer): void => {
    output += c.toString('utf8');
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, run.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(timer);
  return { exitCode, timedOut, command, output, ...parseUclientOutput(output) };
}

export function describeUclient(s: UclientSummary): string {
  const state = s.timedOut ? 'TIMED OUT' : `exit ${String(s.exitCode)}`;
  return `${state}, sent ${String(s.sent)}, echoed ${String(s.received)}, lost ${String(s.lost)}, send dropped ${String(s.sendDropped)}, avg RTT ${String(s.avgRttMs)} ms${s.errors.length ? `, errors: ${[...new Set(s.errors)].slice(0, 3).join(' | ')}` : ''}`;
}
