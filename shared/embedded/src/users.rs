//! People at customer accounts, findable by user id and by the account they are linked to.

use async_trait::async_trait;
use vitals_core::model::{AccountId, UserProfile};
use vitals_core::ports::{StoreResult, UserStore};

use crate::codec::to_json;
use crate::store::SqliteStore;
use crate::summaries::ListingChange;

#[async_trait]
impl UserStore for SqliteStore {
    async fn put_user(&self, user: &UserProfile) -> StoreResult<()> {
        let id = user.user_id.clone();
        let account = user.account_id.as_ref().map(|a| a.as_str().to_string());
        self.put_body(
            "INSERT INTO users (user_id, account_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET
                 account_id = excluded.account_id, body = excluded.body",
            (id, account, to_json(user)?),
            ListingChange::Keeps,
        )
        .await
    }

    async fn get_user(&self, user_id: &str) -> StoreResult<Option<UserProfile>> {
        self.body_of(
            "SELECT body FROM users WHERE user_id = ?1",
            (user_id.to_string(),),
        )
        .await
    }

    async fn users_of_account(&self, account: &AccountId) -> StoreResult<Vec<UserProfile>> {
        self.bodies_of(
            "SELECT body FROM users WHERE account_id = ?1 ORDER BY user_id",
            (account.as_str().to_string(),),
        )
        .await
    }
}
