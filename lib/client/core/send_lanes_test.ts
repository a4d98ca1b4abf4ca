/**
 * The send lanes' rules as tables (send_lanes.ts): inputs in, effects out, no carrier, store or
 * timer. Each row feeds its inputs to fresh lanes and checks the effects of all of them, in order.
 */
import assert from "node:assert/strict";
import {
  type SendEffect,
  sendInitial,
  type SendInput,
  type SendState,
  sendStep,
  type Waiting,
} from "./send_lanes.ts";

const w = (mid: string, ts = 1, lane = "bob"): Waiting => ({ mid, lane, ts });
const up = (gen: number, ...waiting: Waiting[]): SendInput => ({ kind: "laneUp", lane: "bob", gen, waiting });
const down = (gen: number): SendInput => ({ kind: "laneDown", lane: "bob", gen });
const queued = (mid: string, lane = "bob"): SendInput => ({ kind: "queued", item: w(mid, 1, lane) });
const handed = (mid: string, gen = 1): SendInput => ({ kind: "handed", lane: "bob", mid, gen });
const failed = (mid: string, gen = 1): SendInput => ({ kind: "handFailed", lane: "bob", mid, gen });
const acked = (mid: string): SendInput => ({ kind: "acked", lane: "bob", mid });
const gone = (mid: string): SendInput => ({ kind: "gone", lane: "bob", mid });

/** Every effect of `inputs` fed in turn to fresh lanes of `window`, in short form. */
function run(inputs: SendInput[], window = Infinity): { effects: string[]; state: SendState } {
  let state = sendInitial(window);
  const effects: string[] = [];
  for (const i of inputs) {
    const s = sendStep(state, i);
    state = s.state;
    effects.push(...s.effects.map(brief));
  }
  return { effects, state };
}
const brief = (f: SendEffect) =>
  f.kind === "send" ? `send ${f.lane} ${f.mid}@${f.gen}` : `settle ${f.lane} ${f.mid}`;

const rows: { name: string; inputs: SendInput[]; window?: number; effects: string[] }[] = [
  { name: "a message queued while the lane is down waits", inputs: [queued("a")], effects: [] },
  {
    name: "the lane comes up: what the store holds leaves in order, one hand-over at a time",
    inputs: [up(1, w("a"), w("b")), handed("a")],
    effects: ["send bob a@1", "send bob b@1"],
  },
  {
    name: "a window of 1 waits for each acknowledgement",
    inputs: [up(1, w("a"), w("b")), handed("a"), acked("a")],
    window: 1,
    effects: ["send bob a@1", "settle bob a", "send bob b@1"],
  },
  {
    name: "queued while up: it leaves behind the one being handed",
    inputs: [up(1, w("a")), queued("b"), handed("a")],
    effects: ["send bob a@1", "send bob b@1"],
  },
  {
    name: "the same id queued twice leaves once",
    inputs: [up(1), queued("a"), queued("a"), handed("a")],
    effects: ["send bob a@1"],
  },
  {
    name: "acknowledged: settled once, never sent again",
    inputs: [up(1, w("a")), handed("a"), acked("a"), acked("a"), down(1), up(2)],
    effects: ["send bob a@1", "settle bob a", "settle bob a"],
  },
  {
    name: "the carrier went: what was not acknowledged goes again, in order, on the next generation",
    inputs: [up(1, w("a"), w("b")), handed("a"), handed("b"), acked("a"), down(1), up(2, w("b"), w("c"))],
    effects: ["send bob a@1", "send bob b@1", "settle bob a", "send bob b@2"],
  },
  {
    name: "a hand-over of an old generation that ends later changes nothing",
    inputs: [up(1, w("a"), w("b")), down(1), up(2, w("a"), w("b")), handed("a", 1)],
    effects: ["send bob a@1", "send bob a@2"],
  },
  {
    name: "an old generation going down leaves the new one alone",
    inputs: [up(1, w("a")), up(2, w("a")), down(1), handed("a", 2)],
    effects: ["send bob a@1", "send bob a@2"],
  },
  {
    name: "a failed hand-over stops the lane until the next generation, first in line",
    inputs: [up(1, w("a"), w("b")), failed("a"), queued("c"), up(2, w("a"), w("b"), w("c"))],
    effects: ["send bob a@1", "send bob a@2"],
  },
  {
    name: "gone (dropped, failed for good): the next goes, nothing is settled",
    inputs: [up(1, w("a"), w("b")), gone("a")],
    effects: ["send bob a@1", "send bob b@1"],
  },
  {
    name: "an acknowledgement the lane does not hold (not up since a restart) is settled all the same",
    inputs: [acked("z")],
    effects: ["settle bob z"],
  },
  {
    name: "lanes are apart: one peer down holds nobody else's messages",
    inputs: [queued("a", "carol"), up(1, w("b"))],
    effects: ["send bob b@1"],
  },
];

for (const r of rows) {
  Deno.test(`send lanes: ${r.name}`, () => {
    assert.deepEqual(run(r.inputs, r.window).effects, r.effects);
  });
}

Deno.test("send lanes: an id is never handed twice on one generation, whatever the order of inputs", () => {
  // Random interleavings of the inputs a carrier and a user can give (an id acknowledged or gone is
  // out of the store: never queued again); the invariant is checked after each.
  for (let seed = 1; seed <= 300; seed++) {
    let x = seed;
    // The high bits of the generator: its low bits repeat with a short period.
    const rand = (n: number) => Math.floor(((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) * n);
    let state = sendInitial(1 + rand(3));
    const sent = new Set<string>();
    let gen = 0;
    const mids = ["a", "b", "c", "d"], done = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const mid = mids[rand(mids.length)]!;
      const stored = mids.slice(0, rand(5)).filter((m) => !done.has(m));
      const choices: SendInput[] = [
        ...(done.has(mid) ? [] : [queued(mid)]),
        up(gen + 1, ...stored.map((m) => w(m))),
        down(gen),
        handed(state.lanes["bob"]?.handing ?? mid, gen), // mostly the one being handed, as a carrier answers
        handed(mid, gen),
        failed(mid, gen),
        acked(mid),
        gone(mid),
      ];
      const input = choices[rand(choices.length)]!;
      if (input.kind === "laneUp") gen = input.gen;
      if (input.kind === "acked" || input.kind === "gone") done.add(input.mid);
      const s = sendStep(state, input);
      state = s.state;
      for (const f of s.effects) {
        if (f.kind !== "send") continue;
        const key = `${f.mid}@${f.gen}`;
        assert.ok(!sent.has(key), `seed ${seed}: ${key} handed twice`);
        sent.add(key);
      }
      const lane = state.lanes["bob"];
      if (lane) assert.ok(lane.out.length <= state.window, `seed ${seed}: window kept`);
      if (lane) {
        const head = lane.queue.slice(0, lane.out.length).map((q) => q.mid);
        assert.deepEqual(lane.out, head, `seed ${seed}: what waits for an ack is the head of the queue`);
      }
    }
  }
});
