//! Endpoint security policies, one JSON row per endpoint.

use protocol::EndpointPolicy;

use super::Store;
use crate::error::{AppError, AppResult};

impl Store {
    /// The endpoint's policy; the default (deny all) when none was set.
    pub async fn endpoint_policy(&self, endpoint: &str) -> AppResult<EndpointPolicy> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT policy FROM endpoint_policies WHERE endpoint_id = ?")
                .bind(endpoint)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Ok(EndpointPolicy::default()),
            Some((json,)) => serde_json::from_str(&json).map_err(|e| {
                AppError::internal(format!(
                    "the policy of endpoint {endpoint} is not valid: {e}"
                ))
            }),
        }
    }

    /// Sets the endpoint's policy.
    pub async fn put_endpoint_policy(
        &self,
        endpoint: &str,
        policy: &EndpointPolicy,
    ) -> AppResult<()> {
        let json = serde_json::to_string(policy)
            .map_err(|e| AppError::internal(format!("cannot write a policy: {e}")))?;
        sqlx::query(
            "INSERT INTO endpoint_policies (endpoint_id, policy) VALUES (?, ?)
             ON CONFLICT (endpoint_id) DO UPDATE
             SET policy = excluded.policy,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        )
        .bind(endpoint)
        .bind(json)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
