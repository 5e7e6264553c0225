/**
 * The layers of src/ (see README, "How it works"): entry points above the
 * rules of the product, above storage and the outside world, above config
 * and errors. Arrows point down only, and no file imports itself back
 * through others, not even for a type: a cycle means a file does two jobs.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "../support/server.ts";

const LAYERS: Record<string, number> = {
  "src/gitchat.ts": 4, // the composition root, which the CLI starts
  "src/cli": 4,
  "src/http": 4,
  views: 4,
  "src/accounts": 3,
  "src/messages": 3,
  "src/repositories": 3,
  "src/sync": 3,
  "src/db": 2,
  "src/git": 2,
  "src/github": 2,
  "src/config.ts": 1,
  "src/log.ts": 1,
  "src/errors.ts": 1,
  "src/rate-limit.ts": 1,
  "src/metrics.ts": 1,
};

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });

const files = [...sources("src"), ...sources("views")];

/** The project files a file imports (relative imports, types included). */
const importsOf = (file: string) =>
  [...readFileSync(join(ROOT, file), "utf8").matchAll(/(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']/g)]
    .map((m) => normalize(join(dirname(file), m[1]!)))
    .filter((target) => files.includes(target));

const layerOf = (file: string) => {
  const key = Object.keys(LAYERS).find((k) => file === k || file.startsWith(`${k}/`));
  if (key === undefined) throw new Error(`${file} is in no layer: add its folder to LAYERS`);
  return LAYERS[key]!;
};

test("no import points up a layer: storage never imports the rules, the rules never import an entry point", () => {
  const upward = files.flatMap((file) =>
    importsOf(file)
      .filter((target) => layerOf(target) > layerOf(file))
      .map((target) => `${file} -> ${target}`),
  );
  expect(upward).toEqual([]);
});

test("no import cycles, not even through types", () => {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative("src", f)).join(" -> "));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  expect(cycles).toEqual([]);
});

test("the HTTP routes and the views never reach git: they go through the services", () => {
  const reaching = files
    .filter((file) => file.startsWith("src/http/") || file.startsWith("views/"))
    .flatMap((file) => [
      ...importsOf(file).filter((target) => target.startsWith("src/git/")).map((target) => `${file} -> ${target}`),
      // A channel carries its store: using it from a route is reaching git all the same.
      ...(/\.store\b/.test(readFileSync(join(ROOT, file), "utf8")) ? [`${file} uses a channel's store`] : []),
    ]);
  expect(reaching).toEqual([]);
});

test("the CLI and the HTTP layer never open git or the database themselves: they go through the services or the composition root", () => {
  const reaching = files
    .filter((file) => file.startsWith("src/cli/") || file.startsWith("src/http/") || file.startsWith("views/"))
    .flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith("src/git/") || target.startsWith("src/db/"))
        .map((target) => `${file} -> ${target}`),
    );
  expect(reaching).toEqual([]);
});
