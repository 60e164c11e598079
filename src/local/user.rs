//! A container definition's `user` (`user`, `user:group`, `uid`, `uid:gid`, or a mix), resolved
//! to the ids the process runner switches to.
//!
//! Names are looked up in `/etc/passwd` and `/etc/group` (not through NSS, so LDAP users are not
//! found: give numeric ids for those). As in Docker, a user given without a group takes the
//! user's primary group from `/etc/passwd`, or group 0 when the user has no entry there.

// The crate denies unsafe code (Cargo.toml [lints]); geteuid(2) and getegid(2) are libc calls.
#![allow(unsafe_code)]

use std::path::Path;

/// The ids a `user` setting names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

/// What the process runner does about `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Run as the runner's own user: `user` names it already.
    Stay,
    /// The runner is root: switch to these ids.
    To(Identity),
}

/// Resolves `spec` against the system's user and group files.
pub fn resolve(spec: &str) -> Result<Identity, String> {
    resolve_with(spec, Path::new("/etc/passwd"), Path::new("/etc/group"))
}

/// Resolves `spec` against the given passwd and group files.
pub fn resolve_with(spec: &str, passwd: &Path, group: &Path) -> Result<Identity, String> {
    let spec = spec.trim();
    let (user, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || group_part.is_some_and(str::is_empty) {
        return Err(format!(
            "user {spec:?} is not valid; write user, user:group, uid or uid:gid"
        ));
    }
    let passwd_text = std::fs::read_to_string(passwd).unwrap_or_default();
    let entry = passwd_text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let (name, uid, gid) = (fields.first()?, fields.get(2)?, fields.get(3)?);
        let uid: u32 = uid.parse().ok()?;
        let gid: u32 = gid.parse().ok()?;
        let matches = match user.parse::<u32>() {
            Ok(wanted) => uid == wanted,
            Err(_) => *name == user,
        };
        matches.then_some((uid, gid))
    });
    let (uid, primary_gid) = match (user.parse::<u32>(), entry) {
        (_, Some((uid, gid))) => (uid, gid),
        (Ok(uid), None) => (uid, 0),
        (Err(_), None) => {
            return Err(format!(
                "user {user:?} is not in {}; give a numeric uid or create the user",
                passwd.display()
            ))
        }
    };
    let gid = match group_part {
        None => primary_gid,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let group_text = std::fs::read_to_string(group).unwrap_or_default();
                group_text
                    .lines()
                    .find_map(|line| {
                        let fields: Vec<&str> = line.split(':').collect();
                        (fields.first() == Some(&g))
                            .then(|| fields.get(2)?.parse::<u32>().ok())
                            .flatten()
                    })
                    .ok_or_else(|| {
                        format!(
                            "group {g:?} is not in {}; give a numeric gid or create the group",
                            group.display()
                        )
                    })?
            }
        },
    };
    Ok(Identity { uid, gid })
}

/// The runner's effective ids.
pub fn current() -> Identity {
    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    unsafe {
        Identity {
            uid: libc::geteuid(),
            gid: libc::getegid(),
        }
    }
}

/// Decides how to honour `spec` when the runner runs as `me`: only root can switch users.
pub fn plan(spec: &str, me: Identity) -> Result<Switch, String> {
    let wanted = resolve(spec)?;
    plan_for(spec, wanted, me)
}

fn plan_for(spec: &str, wanted: Identity, me: Identity) -> Result<Switch, String> {
    if me.uid == 0 {
        return Ok(Switch::To(wanted));
    }
    if wanted.uid == me.uid && (wanted.gid == me.gid || !spec.contains(':')) {
        return Ok(Switch::Stay);
    }
    Err(format!(
        "cannot run as user {spec:?} (uid {}, gid {}): ecs-migrate runs as uid {} and only root can switch users; remove \"user\" from the container definition, run as root, or run the task in Docker",
        wanted.uid, wanted.gid, me.uid
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (tempdir::Dir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempdir::Dir::new();
        let passwd = dir.path.join("passwd");
        let group = dir.path.join("group");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1001::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(&group, "root:x:0:\napp:x:1001:\nstaff:x:50:app\n").unwrap();
        (dir, passwd, group)
    }

    mod tempdir {
        pub struct Dir {
            pub path: std::path::PathBuf,
        }
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "ecs-migrate-user-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&path).unwrap();
                Self { path }
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }

    #[test]
    fn user_specs() {
        let (_dir, passwd, group) = files();
        let r = |spec: &str| resolve_with(spec, &passwd, &group);
        assert_eq!(
            r("app").unwrap(),
            Identity {
                uid: 1000,
                gid: 1001
            }
        );
        assert_eq!(
            r("1000").unwrap(),
            Identity {
                uid: 1000,
                gid: 1001
            }
        );
        assert_eq!(r("app:staff").unwrap(), Identity { uid: 1000, gid: 50 });
        assert_eq!(r("app:7").unwrap(), Identity { uid: 1000, gid: 7 });
        assert_eq!(r("4242").unwrap(), Identity { uid: 4242, gid: 0 });
        assert_eq!(
            r("4242:4243").unwrap(),
            Identity {
                uid: 4242,
                gid: 4243
            }
        );
        assert!(r("nobody-here").unwrap_err().contains("not in"));
        assert!(r("app:nogroup").unwrap_err().contains("group \"nogroup\""));
        assert!(r(":1").unwrap_err().contains("not valid"));
        assert!(r("app:").unwrap_err().contains("not valid"));
    }

    #[test]
    fn only_root_switches() {
        let root = Identity { uid: 0, gid: 0 };
        let me = Identity {
            uid: 1000,
            gid: 1000,
        };
        let app = Identity {
            uid: 1000,
            gid: 1000,
        };
        let other = Identity {
            uid: 1001,
            gid: 1001,
        };
        assert_eq!(plan_for("app", other, root).unwrap(), Switch::To(other));
        assert_eq!(plan_for("1000", app, me).unwrap(), Switch::Stay);
        assert_eq!(plan_for("1000:1000", app, me).unwrap(), Switch::Stay);
        let err = plan_for("1001", other, me).unwrap_err();
        assert!(err.contains("only root can switch users"), "{err}");
        assert!(err.contains("run the task in Docker"), "{err}");
        let err = plan_for("1000:5", Identity { uid: 1000, gid: 5 }, me).unwrap_err();
        assert!(err.contains("gid 5"), "{err}");
    }
}
