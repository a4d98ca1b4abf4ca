import "./lib/client/e2e/body_codec.ts";
import "./lib/client/e2e/blocks.ts";
import "./lib/client/e2e/controls.ts";
import "./lib/client/e2e/changes.ts";
import "./lib/client/e2e/keys.ts";
import "./lib/protocol/messages.ts";
import "./lib/client/session/local_store_search.ts";
