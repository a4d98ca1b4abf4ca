import "./lib/client/e2e/mod.ts";
