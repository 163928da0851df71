// Validates CloudEvents with the JavaScript SDK (npm "cloudevents"), as a
// JavaScript producer or consumer would meet them: each line of each JSON
// Lines file given is built into a strict CloudEvent, and read as a
// structured-mode HTTP message (HTTP.toEvent), both of which validate it.
// Prints one line per refused event and a closing "N passed, N failed";
// exits 1 when any was refused. cmd/eventrunner's TestSDKsAcceptEvents runs
// it (npm ci here first: .ci/sdkjs.sh).
import { readFileSync } from "node:fs";
import { CloudEvent, HTTP } from "cloudevents";

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  const lines = readFileSync(file, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") {
      return;
    }
    const where = `${file}:${i + 1}`;
    try {
      const ev = new CloudEvent(JSON.parse(line));
      const received = HTTP.toEvent({
        headers: { "content-type": "application/cloudevents+json; charset=utf-8" },
        body: line,
      });
      received.validate();
      if (received.id !== ev.id || received.dataschema !== ev.dataschema) {
        throw new Error(`structured read gave id ${received.id}, dataschema ${received.dataschema}`);
      }
      passed++;
    } catch (err) {
      failed++;
      console.log(`FAIL ${where}: ${String(err.message).replace(/\s+/g, " ")}`);
    }
  });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
