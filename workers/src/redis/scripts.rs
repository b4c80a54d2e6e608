//! The Lua scripts, each prefixed with `common.lua`. Loaded once per connection by EVALSHA's
//! NOSCRIPT fallback in `redis::Script`.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($name:ident, $file:literal) => {
        pub(super) static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(concat!(include_str!("lua/common.lua"), include_str!($file))));
    };
}

script!(ENQUEUE, "lua/enqueue.lua");
script!(LEASE, "lua/lease.lua");
script!(SETTLE, "lua/settle.lua");
script!(HEARTBEAT, "lua/heartbeat.lua");
script!(REPLAY, "lua/replay.lua");
script!(REMOVE_DEAD, "lua/remove_dead.lua");
script!(STATS, "lua/stats.lua");
