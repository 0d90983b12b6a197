import { describe, expect, test } from "bun:test";
import {
  filterByActive,
  filterRegistrations,
  keys,
  type PeerInfo,
  Producer,
  RegistrationDB,
  subKeys,
} from "../../src/daemons/lookupd/registration-db.ts";

const SEC30 = 30_000;
const BEGINNING_OF_TIME = 1348797047_000;

function peer(id: string, tcpPort: number): PeerInfo {
  return {
    id,
    lastUpdate: BEGINNING_OF_TIME,
    remoteAddress: `remote_addr:${id}`,
    hostname: "host",
    broadcastAddress: "b_addr",
    tcpPort,
    httpPort: tcpPort + 1,
    version: "v1",
    topologyZone: "",
    topologyRegion: "",
  };
}

const reg = (category: string, key: string, subKey: string) => ({ category, key, subKey });
const ids = (ps: Producer[]) => ps.map((p) => p.peerInfo.id).sort();

// nsqlookupd/registration_db_test.go, step by step
describe("RegistrationDB", () => {
  const pi1 = peer("1", 1);
  const pi2 = peer("2", 2);
  const pi3 = peer("3", 3);
  const p1 = new Producer(pi1);
  const p2 = new Producer(pi2);
  const p3 = new Producer(pi3);
  const p4 = new Producer(pi1);
  const db = new RegistrationDB();
  const now = Date.now();

  test("adding producers: once per peer id and registration", () => {
    expect(db.addProducer(reg("c", "a", ""), p1)).toBe(true);
    expect(db.addProducer(reg("c", "a", ""), p2)).toBe(true);
    expect(db.addProducer(reg("c", "a", "b"), p2)).toBe(true);
    expect(db.addProducer(reg("d", "a", ""), p3)).toBe(true);
    expect(db.addProducer(reg("t", "a", ""), p4)).toBe(true);
    expect(db.addProducer(reg("c", "a", ""), new Producer(pi1))).toBe(false);
  });

  test("finding registrations and producers, with * wildcards", () => {
    expect(keys(db.findRegistrations("c", "*", ""))).toEqual(["a"]);
    expect(ids(db.findProducers("t", "*", ""))).toEqual(["1"]);
    expect(ids(db.findProducers("c", "*", ""))).toEqual(["1", "2"]);
    expect(ids(db.findProducers("c", "a", ""))).toEqual(["1", "2"]);
    expect(ids(db.findProducers("c", "*", "b"))).toEqual(["2"]);
    // across registrations a peer is found once
    expect(ids(db.findProducers("c", "*", "*"))).toEqual(["1", "2"]);
    expect(db.findProducers("x", "a", "")).toEqual([]);
  });

  test("filtering by activity", () => {
    const p = db.findProducers("c", "*", "b");
    expect(filterByActive(p, SEC30, SEC30, now)).toHaveLength(0);
    pi2.lastUpdate = now;
    expect(filterByActive(p, SEC30, SEC30, now)).toHaveLength(1);
    expect(filterByActive(db.findProducers("c", "*", ""), SEC30, SEC30, now)).toHaveLength(1);
    // exactly the timeout is still active: only more than it is not
    expect(filterByActive(p, SEC30, SEC30, now + SEC30)).toHaveLength(1);
    expect(filterByActive(p, SEC30, SEC30, now + SEC30 + 1)).toHaveLength(0);
  });

  test("tombstones are per registration and last their lifetime", () => {
    const fewSecAgo = now - 5000;
    pi1.lastUpdate = fewSecAgo;
    pi2.lastUpdate = fewSecAgo;
    const p = db.findProducers("c", "*", "");
    expect(filterByActive(p, SEC30, SEC30, now)).toHaveLength(2);
    p1.tombstone(now);
    expect(filterByActive(p, SEC30, SEC30, now)).toHaveLength(1);
    expect(filterByActive(p, SEC30, 5, now + 10)).toHaveLength(2);
    // the same peer in another registration is not tombstoned (nsq #148)
    expect(filterByActive(db.findProducers("t", "*", ""), SEC30, SEC30, now)).toHaveLength(1);
    expect(p4.isTombstoned(SEC30, now)).toBe(false);
  });

  test("keys and subkeys", () => {
    expect(keys(db.findRegistrations("c", "b", ""))).toEqual([]);
    expect(keys(db.findRegistrations("c", "a", ""))).toEqual(["a"]);
    expect(subKeys(db.findRegistrations("c", "*", "b"))).toEqual(["b"]);
  });

  test("looking up a peer's registrations", () => {
    expect(db.lookupRegistrations("1")).toEqual([reg("c", "a", ""), reg("t", "a", "")]);
    expect(filterRegistrations(db.lookupRegistrations("2"), "c", "*", "b")).toEqual([reg("c", "a", "b")]);
    expect(db.lookupRegistrations("9")).toEqual([]);
  });

  test("removing producers leaves the keys; removing registrations removes them", () => {
    expect(db.removeProducer(reg("c", "a", ""), "1")).toEqual({ removed: true, left: 1 });
    expect(ids(db.findProducers("c", "*", "*"))).toEqual(["2"]);
    expect(db.removeProducer(reg("c", "a", ""), "1")).toEqual({ removed: false, left: 1 });
    expect(db.removeProducer(reg("c", "a", ""), "2")).toEqual({ removed: true, left: 0 });
    expect(db.removeProducer(reg("c", "a", "b"), "2")).toEqual({ removed: true, left: 0 });
    expect(db.removeProducer(reg("c", "zz", ""), "2")).toEqual({ removed: false, left: 0 });
    expect(db.findProducers("c", "*", "*")).toEqual([]);
    expect(keys(db.findRegistrations("c", "*", "*"))).toEqual(["a", "a"]);
    db.removeRegistration(reg("c", "a", ""));
    db.removeRegistration(reg("c", "a", "b"));
    expect(db.findRegistrations("c", "*", "*")).toEqual([]);
  });

  test("addRegistration creates an empty key once; entries lists every key with its producers", () => {
    const d = new RegistrationDB();
    d.addRegistration(reg("topic", "t", ""));
    d.addRegistration(reg("topic", "t", ""));
    d.addProducer(reg("topic", "t", ""), new Producer(pi3));
    d.addRegistration(reg("topic", "t", ""));
    expect(d.entries().map((e) => [e.reg, ids(e.producers)])).toEqual([[reg("topic", "t", ""), ["3"]]]);
  });

  test("keys are exact: no key or subkey is a prefix or part of another", () => {
    const d = new RegistrationDB();
    d.addRegistration(reg("channel", "a", "b:c"));
    d.addRegistration(reg("channel", "a:b", "c"));
    expect(d.findRegistrations("channel", "*", "*")).toHaveLength(2);
    expect(d.findRegistrations("channel", "a", "b")).toEqual([]);
  });

  test("a find by key sees the keys added and removed since, as a full scan does", () => {
    const d = new RegistrationDB();
    for (const ch of ["c1", "c2", "c3"]) d.addRegistration(reg("channel", "t", ch));
    d.addRegistration(reg("channel", "u", "c1"));
    d.removeRegistration(reg("channel", "t", "c2"));
    d.removeRegistration(reg("channel", "t", "missing"));
    expect(subKeys(d.findRegistrations("channel", "t", "*"))).toEqual(["c1", "c3"]);
    d.removeRegistration(reg("channel", "t", "c1"));
    d.removeRegistration(reg("channel", "t", "c3"));
    expect(d.findRegistrations("channel", "t", "*")).toEqual([]);
    d.addProducer(reg("channel", "t", "c2"), new Producer(pi3));
    expect(subKeys(d.findRegistrations("channel", "t", "*"))).toEqual(["c2"]);
    expect(ids(d.findProducers("channel", "t", "*"))).toEqual(["3"]);
    expect(keys(d.findRegistrations("channel", "*", "c1"))).toEqual(["u"]);
  });
});
