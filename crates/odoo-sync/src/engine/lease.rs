//! Who holds a run: `host:pid:nonce`. A holder on this host whose process is gone is dead, so its
//! run can be taken over at once instead of waiting for its lease to run out (a killed CLI run).

pub fn this_process() -> String {
    format!("{}:{}:{:08x}", hostname(), std::process::id(), rand_nonce())
}

/// True when `owner` names a process of this host that no longer runs.
pub fn is_dead_local_owner(owner: &str) -> bool {
    let mut parts = owner.split(':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        return false;
    }
    cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn rand_nonce() -> u32 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_gone_pid_is_dead() {
        assert!(!is_dead_local_owner(&this_process()));
        let gone = format!("{}:{}:0", hostname(), u32::MAX - 7);
        assert!(is_dead_local_owner(&gone));
        assert!(!is_dead_local_owner("some-other-host:1:0"));
        assert!(!is_dead_local_owner("garbage"));
    }
}
