//! `v4/im_open_login_svc/kick`: invalidates one account's login state.
//!
//! Contract: <https://www.tencentcloud.com/document/product/1047/34957>: `{"UserID":"id"}`,
//! 70107 when the account does not exist; afterwards "the user can use a newly generated
//! UserSig" while the old ones fail. The emulator records the second of the kick, and its own
//! client-login check (`/_emulator/login`, in `login.rs`) refuses UserSigs issued before it.

use crate::account_import::user_id_field;
use crate::body::json_object;
use crate::state::State;
use crate::tencent::{fail, Fail};

/// Checks the body (as account_import checks UserID: 70402), then kicks or answers 70107.
pub(crate) fn kick(state: &mut State, body: &[u8], now_ms: u64) -> Result<(), Fail> {
    let obj = json_object(body, 60003)?;
    let user_id = user_id_field(&obj)?;
    if state.account(&user_id).is_none() {
        return Err(fail(70107, ""));
    }
    state.kick(&user_id, now_ms);
    Ok(())
}

#[cfg(test)]
mod tests;
