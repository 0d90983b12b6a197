// The part of nsqjs's API the compatibility suite uses (nsqjs ships no types).
declare module "nsqjs" {
  import { EventEmitter } from "node:events";
  export class Writer extends EventEmitter {
    constructor(host: string, port: number, options?: Record<string, unknown>);
    connect(): void;
    close(): void;
    publish(topic: string, msgs: string | string[] | Buffer, callback?: (err?: Error) => void): void;
    deferPublish(topic: string, msgs: string[], timeMs: number, callback?: (err?: Error) => void): void;
  }
  export class Reader extends EventEmitter {
    constructor(topic: string, channel: string, options?: Record<string, unknown>);
    connect(): void;
    close(): void;
  }
  const nsq: { Writer: typeof Writer; Reader: typeof Reader };
  export default nsq;
}
