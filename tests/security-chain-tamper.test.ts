import { expect, it } from "vitest";
import { startTestApp, submitBody } from "./harness.js";

// OG-DB-003 on demand walks the whole chain: an entry changed behind an earlier verification (a
// previous run, GET /v1/audit, the quick schedule) is found at once.
it("finds, on demand, an audit entry changed behind an earlier verification", async () => {
  const t = await startTestApp(
    {},
    {
      security: {
        advisories: {},
        uid: 1000,
        nodeVersion: "24.14.1",
        integrity: {
          appRoot: "/nonexistent",
          paths: [],
          baselineFile: "/nonexistent/b.json",
          keyFile: "/nonexistent/k",
        },
      },
    },
  );
  try {
    for (let i = 0; i < 3; i++) await t.call("POST", "/v1/operations", { body: submitBody() });
    const first = await t.app.security.run("api");
    expect(first.results.find((r) => r.id === "OG-DB-003")!.status).toBe("ok");
    t.app.db.exec("DROP TRIGGER audit_log_no_update");
    t.app.db.prepare(`UPDATE audit_log SET details = '{"clientId":"forged"}' WHERE seq = 2`).run();
    const second = await t.app.security.run("api");
    const db003 = second.results.find((r) => r.id === "OG-DB-003")!;
    expect(db003.status).toBe("critical");
  } finally {
    await t.close();
  }
});
