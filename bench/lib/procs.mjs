// Process facts from /proc (Linux): the workerd processes under a server, their RSS and CPU time.
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // Linux USER_HZ

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), utime: Number(rest[11]), stime: Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** Pids of every descendant of `root` whose command is workerd. */
export function workerdPids(root) {
  const children = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(d);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(d));
    children.set(s.ppid, list);
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    for (const c of children.get(p) ?? []) {
      stack.push(c);
      try {
        if (readFileSync(`/proc/${c}/cmdline`, "utf8").split("\0")[0].endsWith("/workerd")) out.push(c);
      } catch {}
    }
  }
  return out.sort((a, b) => a - b);
}

/** VmRSS and VmHWM of a pid, in MiB. */
export function memory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? 0);
    return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
  } catch {
    return { rssMiB: 0, hwmMiB: 0 };
  }
}

/** User+system CPU seconds a pid has used. */
export function cpuSeconds(pid) {
  const s = stat(pid);
  return s ? (s.utime + s.stime) / CLK_TCK : 0;
}

/** Samples the RSS of pids every `ms` until stopped; returns peak RSS per pid (MiB). */
export function rssSampler(pids, ms = 100) {
  const peak = new Map(pids.map((p) => [p, memory(p).rssMiB]));
  const t = setInterval(() => {
    for (const p of pids) peak.set(p, Math.max(peak.get(p), memory(p).rssMiB));
  }, ms);
  return { stop: () => (clearInterval(t), peak) };
}
