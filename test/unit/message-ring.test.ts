import { expect, test } from "bun:test";
import fc from "fast-check";
import { idWords } from "../../src/core/protocol/message.ts";
import { Message } from "../../src/daemons/nsqd/message.ts";
import { MessageRing } from "../../src/daemons/nsqd/message-ring.ts";

let seq = 0;
function msg(bodyLen: number, fields: Partial<Pick<Message, "attempts" | "deferred" | "pri">> = {}): Message {
  const id = (seq++).toString(16).padStart(16, "0");
  const body = new Uint8Array(bodyLen).map((_, i) => (i * 7 + seq) & 255);
  const m = new Message(...idWords(id), body, 1_700_000_000_123_456_789 + seq);
  Object.assign(m, fields);
  return m;
}

const fieldsOf = (m: Message) => ({
  id: m.id, body: [...m.body], timestamp: m.timestamp, attempts: m.attempts, deferred: m.deferred, pri: m.pri,
});

test("a message comes out of the ring as it went in: id, body, timestamp, attempts, deferral and due time", () => {
  const r = new MessageRing();
  const a = msg(200, { attempts: 3 });
  const b = msg(0, { deferred: 3_600_000, pri: 1_800_000_000_000.5 });
  r.push(a);
  r.push(b);
  expect(r.length).toBe(2);
  expect([...r].map(fieldsOf)).toEqual([fieldsOf(a), fieldsOf(b)]);
  expect(r.length).toBe(2);
  expect(fieldsOf(r.shift()!)).toEqual(fieldsOf(a));
  expect(fieldsOf(r.shift()!)).toEqual(fieldsOf(b));
  expect(r.shift()).toBeUndefined();
  expect(r.length).toBe(0);
});

test("a message larger than the largest chunk gets a chunk of its own", () => {
  const r = new MessageRing();
  const small = msg(10);
  const big = msg(2 * 1024 * 1024);
  r.push(small);
  r.push(big);
  r.push(small);
  expect(r.shift()!.body.length).toBe(10);
  expect(fieldsOf(r.shift()!)).toEqual(fieldsOf(big));
  expect(r.shift()!.id).toBe(small.id);
});

test("FIFO under any interleaving of push, shift and clear (model check)", () => {
  const op = fc.oneof(
    fc.record({ push: fc.integer({ min: 0, max: 70_000 }), n: fc.integer({ min: 1, max: 400 }) }),
    fc.record({ shift: fc.integer({ min: 1, max: 500 }) }),
    fc.constant({ clear: true }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const r = new MessageRing();
      const model: Message[] = [];
      for (const o of ops) {
        if ("push" in o) {
          for (let i = 0; i < o.n; i++) {
            const m = msg(i === 0 ? o.push : o.push % 300, { attempts: i & 0xffff });
            r.push(m);
            model.push(m);
          }
        } else if ("shift" in o) {
          for (let i = 0; i < o.shift; i++) {
            const want = model.shift();
            const got = r.shift();
            if (want === undefined) expect(got).toBeUndefined();
            else expect(fieldsOf(got!)).toEqual(fieldsOf(want));
          }
        } else {
          r.clear();
          model.length = 0;
        }
        expect(r.length).toBe(model.length);
      }
      expect([...r].map((m) => m.id)).toEqual(model.map((m) => m.id));
      expect([...r.drain()].map((m) => m.id)).toEqual(model.map((m) => m.id));
      expect(r.length).toBe(0);
    }),
    { numRuns: 60 },
  );
});
