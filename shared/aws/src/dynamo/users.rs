//! Users: one item per user id, indexed under their account (GSI) while linked to one.

use async_trait::async_trait;
use vitals_core::model::{AccountId, UserProfile};
use vitals_core::ports::{StoreResult, UserStore};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl UserStore for DynamoStore {
    async fn put_user(&self, user: &UserProfile) -> StoreResult<()> {
        self.put("put user", records::encode_user(user)?, None)
            .await
    }

    async fn get_user(&self, user_id: &str) -> StoreResult<Option<UserProfile>> {
        self.get("get user", &records::user_key(user_id), true)
            .await?
            .map(records::decode_user)
            .transpose()
    }

    async fn users_of_account(&self, account: &AccountId) -> StoreResult<Vec<UserProfile>> {
        let spec = queries::users_of_account(account);
        let mut users = self.query_decoded(Some(spec), records::decode_user).await?;
        // The index sorts by `USER#{id}`, which is id order; the GSI is eventually
        // consistent, so a just-relinked user is dropped rather than shown twice.
        users.retain(|u| u.account_id.as_ref() == Some(account));
        users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Ok(users)
    }
}
