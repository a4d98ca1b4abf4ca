import "./client.ts";
