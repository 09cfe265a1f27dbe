// A colibri-ws client as lib-jitsi-meet is one (jitsi-client-protocol.md §5.2): dials the URL from the
// transport's <web-socket> as given, one JSON object per text frame.
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { waitFor } from '@hummingbird/test-support';

export type Json = Record<string, unknown>;

export class ChannelClient {
  readonly messages: Json[] = [];
  closeCode: number | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString('utf8')) as Json);
    });
    socket.on('close', (code) => {
      this.closeCode = code;
    });
  }

  static async open(url: string): Promise<ChannelClient> {
    const socket = new WebSocket(url);
    const client = new ChannelClient(socket);
    await once(socket, 'open');
    return client;
  }

  /** The HTTP status a refused upgrade got. */
  static async refusal(url: string): Promise<number> {
    const socket = new WebSocket(url);
    // Terminating a socket that never opened emits 'error'; that is the expected end here.
    socket.on('error', () => undefined);
    const [, res] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode?: number }];
    socket.terminate();
    return res.statusCode ?? 0;
  }

  send(message: Json): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  of(colibriClass: string): Json[] {
    return this.messages.filter((m) => m['colibriClass'] === colibriClass);
  }

  async next(what: string, pred: (m: Json) => boolean, timeoutMs = 20_000): Promise<Json> {
    return waitFor(what, () => this.messages.find(pred), (m) => m !== undefined, { timeoutMs }) as Promise<Json>;
  }

  close(): void {
    this.socket.close();
  }
}
