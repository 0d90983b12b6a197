import { expect, test } from "bun:test";
import fc from "fast-check";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { idWords } from "../../src/core/protocol/message.ts";
import { Message } from "../../src/daemons/nsqd/message.ts";
import { MessageIndex } from "../../src/daemons/nsqd/message-index.ts";

const message = (id: string) => new Message(...idWords(id), new Uint8Array(0), 0);
const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

test("IDs that share all but a few characters are told apart, and a message by identity", () => {
  const ix = new MessageIndex();
  const a = message("000000aaaaaaaaaa");
  const b = message("111111aaaaaaaaaa");
  const c = message("ffffffaaaaaaaaaa");
  for (const m of [a, b, c]) ix.add(m);
  expect(ix.size).toBe(3);
  expect(ix.find(ascii("111111aaaaaaaaaa"))).toBe(b);
  expect(ix.find(ascii("000000aaaaaaaaaa"))).toBe(a);
  expect(ix.find(ascii("222222aaaaaaaaaa"))).toBeUndefined();
  expect(ix.delete(b)).toBe(true);
  expect(ix.delete(b)).toBe(false);
  expect([ix.find(ascii("000000aaaaaaaaaa")), ix.find(ascii("ffffffaaaaaaaaaa"))]).toEqual([a, c]);
  // a message is found by identity, not by its ID alone
  const twin = message("ffffffaaaaaaaaaa");
  expect(ix.delete(twin)).toBe(false);
  expect(ix.find(ascii("ffffffaaaaaaaaaa"))).toBe(c);
  expect(ix.size).toBe(2);
  ix.clear();
  expect(ix.size).toBe(0);
  expect([...ix.values()]).toEqual([]);
  expect(ix.find(ascii("000000aaaaaaaaaa"))).toBeUndefined();
});

test("behaves as a map from ID to message under any adds and deletes (model check)", () => {
  // few distinct IDs, so adds and deletes meet in the same probe runs; any byte may appear
  const id = fc
    .tuple(fc.constantFrom("00000000", "ffffffff", "\u0000\u00ff~ x\u0080ab"), fc.stringMatching(/^[0-9a-f\u00e1]{2}$/), fc.constantFrom("000000", "a1b2c3"))
    .map(([p, m, s]) => p + m + s);
  const op = fc.oneof(fc.record({ add: id }), fc.record({ del: fc.nat(40) }), fc.record({ find: id }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const ix = new MessageIndex();
      const model: Message[] = [];
      for (const o of ops) {
        if ("add" in o) {
          if (model.some((m) => m.id === o.add)) continue; // an ID is in flight once per channel
          const m = message(o.add);
          ix.add(m);
          model.push(m);
        } else if ("del" in o) {
          const m = model[o.del % Math.max(1, model.length)];
          if (m === undefined) continue;
          expect(ix.delete(m)).toBe(true);
          model.splice(model.indexOf(m), 1);
        } else {
          expect(ix.find(latin1Bytes(o.find))).toBe(model.find((m) => m.id === o.find));
        }
        expect(ix.size).toBe(model.length);
      }
      expect(new Set(ix.values())).toEqual(new Set(model));
      for (const m of model) expect(ix.find(latin1Bytes(m.id))).toBe(m);
    }),
    { numRuns: 200 },
  );
});

test("thousands of messages in and out in any order: each found until deleted, never after", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.boolean()), { minLength: 2000, maxLength: 4000 }), (xs) => {
      const ix = new MessageIndex();
      const live = new Map<string, Message>();
      for (const [n, keep] of xs) {
        const id = `${(n % 7).toString(16).padStart(8, "0")}${n.toString(16).padStart(8, "0")}`;
        if (live.has(id)) continue;
        const m = message(id);
        ix.add(m);
        live.set(id, m);
        if (!keep) {
          // delete an older one, so deletions land inside probe runs
          const [oldId, old] = live.entries().next().value!;
          expect(ix.delete(old)).toBe(true);
          live.delete(oldId);
        }
      }
      expect(ix.size).toBe(live.size);
      for (const [id, m] of live) expect(ix.find(ascii(id))).toBe(m);
      const gone = new Set([...live.values()].slice(0, live.size / 2));
      for (const m of gone) expect(ix.delete(m)).toBe(true);
      for (const [id, m] of live) {
        expect(ix.find(ascii(id))).toBe(gone.has(m) ? undefined : m);
        expect(ix.delete(m)).toBe(!gone.has(m));
      }
    }),
    { numRuns: 20 },
  );
});
