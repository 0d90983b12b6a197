import { describe, expect, test } from "bun:test";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { unmarshalStruct } from "../../src/core/protocol/go-json.ts";

const FIELDS = { name: "string", on: "bool", port: "int", rate: "int32" } as const;
const ZERO = { name: "", on: false, port: 0, rate: 0 };
const decode = (json: string) => unmarshalStruct(ascii(json), FIELDS);

describe("unmarshalStruct (Go's json.Unmarshal into a struct)", () => {
  test("fields by name, case-insensitively; unknown keys and nested values ignored; the last duplicate wins", () => {
    expect(decode('{"name":"a","on":true,"port":4150,"rate":-3}')).toEqual({ name: "a", on: true, port: 4150, rate: -3 });
    expect(decode('{"NAME":"a","Port":1,"port":2,"other":{"port":1.5}}')).toEqual({ ...ZERO, name: "a", port: 2 });
  });

  test("null, as the body or as a value, leaves zero values", () => {
    expect(decode("null")).toEqual(ZERO);
    expect(decode('{"name":null,"port":null}')).toEqual(ZERO);
  });

  test.each([
    ["not JSON", "{"],
    ["empty", ""],
    ["an array", "[]"],
    ["a number", "1"],
    ["a string", '"x"'],
    ["a string for an int", '{"port":"1"}'],
    ["a number for a string", '{"name":1}'],
    ["a number for a bool", '{"on":1}'],
    ["a fraction for an int", '{"port":1.5}'],
    ["1.0 for an int", '{"port":1.0}'],
    ["an exponent for an int", '{"port":1e3}'],
    ["an int beyond int32", '{"rate":2147483648}'],
    ["an int beyond the safe range", '{"port":9007199254740993}'],
  ])("%s fails the whole body", (_, json) => {
    expect(decode(json)).toBeNull();
  });

  test("int32 bounds are inclusive of Go's range", () => {
    expect(decode('{"rate":-2147483648}')?.rate).toBe(-2147483648);
    expect(decode('{"rate":2147483647}')?.rate).toBe(2147483647);
  });

  test("invalid UTF-8 inside a string becomes U+FFFD", () => {
    const body = new Uint8Array([...ascii('{"name":"a'), 0xff, ...ascii('b"}')]);
    expect(unmarshalStruct(body, FIELDS)?.name).toBe("a\uFFFDb");
  });
});
