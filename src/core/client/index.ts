/**
 * The NSQ client: publish with {@link Producer}, consume with {@link Consumer} (directly from nsqd or
 * through nsqlookupd discovery). go-nsq's behaviour and defaults, in TypeScript on Bun; the tools
 * (`nsq tail`, `nsq to-nsq`, `nsq to-file`, `nsq to-http`, `nsq nsq-to-nsq`) are built on it.
 *
 * @example
 * import { Consumer, Producer } from "./src/core/client/index.ts";
 *
 * const producer = new Producer("127.0.0.1:4150");
 * await producer.publish("events", "hello");
 *
 * const consumer = new Consumer("events", "printer", { maxInFlight: 10 });
 * consumer.addHandler((m) => console.log(m.text()));
 * await consumer.connectToNsqd("127.0.0.1:4150");
 * @module
 */
export { type BackoffStrategy, type ClientConfig, type TlsSettings, applyOptions, defaultConfig, resolveConfig, setOption } from "./config.ts";
export { type AuthResponse, Conn, type ConnDelegate, type IdentifyResponse } from "./conn.ts";
export { type ConsumerOptions, type ConsumerStats, Consumer, type Handler } from "./consumer.ts";
export { type ClientErrorCode, dialError, NsqError } from "./errors.ts";
export { Message } from "./message.ts";
export { Producer, type ProducerOptions } from "./producer.ts";
