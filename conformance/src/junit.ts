/** JUnit XML of the suite's results: one <testsuite> per area, skipped and failures as JUnit reads them. */
import { AREAS, type Result } from "./harness.js";

const esc = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");

/** The JUnit XML document for a run against `target`. */
export function junitXml(results: Result[], target: string): string {
  const suites = AREAS.map((area) => {
    const rs = results.filter((r) => r.area === area);
    if (rs.length === 0) return "";
    const failures = rs.filter((r) => r.status === "fail" || r.status === "xpass").length;
    const skipped = rs.filter((r) => r.status === "skip" || r.status === "xfail").length;
    const time = rs.reduce((s, r) => s + r.ms, 0) / 1000;
    const cases = rs.map((r) => {
      const head = `    <testcase classname="conformance.${area}" name="${esc(r.id)}: ${esc(r.title)}" time="${(r.ms / 1000).toFixed(3)}"`;
      if (r.status === "pass") return `${head}/>`;
      if (r.status === "skip" || r.status === "xfail") return `${head}>\n      <skipped message="${esc(r.message ?? r.status)}"/>\n    </testcase>`;
      const kind = r.status === "xpass" ? "UnexpectedPass" : "CheckFailure";
      return `${head}>\n      <failure type="${kind}" message="${esc((r.message ?? "").split("\n")[0]!)}">${esc(r.message ?? "")}</failure>\n    </testcase>`;
    });
    return `  <testsuite name="conformance.${area}" tests="${rs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n    <properties><property name="target" value="${esc(target)}"/></properties>\n${cases.join("\n")}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="dolake-conformance">\n${suites.filter(Boolean).join("\n")}\n</testsuites>\n`;
}
