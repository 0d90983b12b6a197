import { expect, test } from "bun:test";
import fc from "fast-check";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { idWords } from "../../src/core/protocol/message.ts";
import { Message } from "../../src/daemons/nsqd/message.ts";
import { MessageIndex } from "../../src/daemons/nsqd/message-index.ts";

const message = (id: string) => new Message(...idWords(id), new Uint8Array(0), 0);
const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

test("IDs whose last ten characters match share a key and are still told apart", () => {
  const ix = new MessageIndex();
  // the same last ten characters: one chain of three
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
  expect(ix.has(b)).toBe(false);
  expect([ix.find(ascii("000000aaaaaaaaaa")), ix.find(ascii("ffffffaaaaaaaaaa"))]).toEqual([a, c]);
  // a message is found by identity, not by its ID alone
  const twin = message("ffffffaaaaaaaaaa");
  expect(ix.has(twin)).toBe(false);
  expect(ix.delete(twin)).toBe(false);
  expect(ix.size).toBe(2);
  ix.clear();
  expect(ix.size).toBe(0);
  expect([...ix.values()]).toEqual([]);
  expect(a.sameKey).toBeNull();
});

test("behaves as a map from ID to message under any adds and deletes (model check)", () => {
  // a small alphabet and fixed prefixes/suffixes make keys meet often; any byte may appear
  const id = fc
    .tuple(fc.constantFrom("00000000", "ffffffff", "\u0000\u00ff~ x\u0080ab"), fc.stringMatching(/^[0-9a-f\u00e1]{2}$/), fc.constantFrom("000000", "a1b2c3"))
    .map(([p, m, s]) => p + m + s);
  const op = fc.oneof(fc.record({ add: id }), fc.record({ del: fc.nat(40) }), fc.record({ find: id }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
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
      for (const m of model) expect(ix.has(m)).toBe(true);
    }),
    { numRuns: 200 },
  );
});
