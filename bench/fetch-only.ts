/**
 * bench/fetch-only.ts: one fetch of a channel's whole history into an empty
 * repository, as the first pull of a new server does it, but without the
 * merge and the message index: what the transport and the pack store cost
 * alone. Run as its own process by bench/rebuild.ts, which reads its peak
 * RSS from the kernel; the source tree is an argument so that the same run
 * can measure another version of gitchat beside this one.
 *
 *   bun bench/fetch-only.ts <source tree> <empty gitdir> <remote url> <token>
 */
import { join } from "node:path";

const [tree, gitdir, url, token] = process.argv.slice(2);
if (!tree || !gitdir || !url || !token) throw new Error("usage: bun bench/fetch-only.ts <source tree> <gitdir> <remote url> <token>");
const { ChannelStore } = await import(join(tree, "src/git/store.ts"));
const { SmartHttpRemote } = await import(join(tree, "src/git/smart-http.ts"));
const { fetchChannel } = await import(join(tree, "src/git/transfer.ts"));
const store = await ChannelStore.open(gitdir);
const fetched = await fetchChannel(store, new SmartHttpRemote(url, { token, label: "bench" }));
console.log(JSON.stringify({ objects: fetched.objects, bytes: fetched.bytes }));
