//! Registrar functions the operator's tool needs beyond [`crate::registrars`]: listing
//! registrars and managing their allowed source networks.

use epp_proto::ClientId;
use ipnet::IpNet;
use registry_core::registrar::normalise_net;

use crate::registrars::RegistrarStoreError;
use crate::Db;

impl Db {
    /// The clIDs of all registrars, in order.
    pub async fn registrar_ids(&self) -> Result<Vec<String>, RegistrarStoreError> {
        const Q: &str = "SELECT cl_id FROM registrar ORDER BY cl_id";
        Ok(match self {
            Db::Sqlite(pool) => sqlx::query_scalar(Q).fetch_all(pool).await?,
            Db::Postgres(pool) => sqlx::query_scalar(Q).fetch_all(pool).await?,
        })
    }

    /// Allows one more source network for a registrar. `false` if it was already allowed.
    pub async fn add_registrar_network(
        &self,
        cl_id: &ClientId,
        net: IpNet,
    ) -> Result<bool, RegistrarStoreError> {
        const Q: &str = "INSERT INTO registrar_network (cl_id, cidr) SELECT cl_id, $2 FROM registrar WHERE cl_id = $1 ON CONFLICT DO NOTHING";
        const EXISTS: &str = "SELECT count(*) FROM registrar WHERE cl_id = $1";
        let cidr = normalise_net(net).to_string();
        let (n, exists): (u64, i64) = match self {
            Db::Sqlite(pool) => (
                sqlx::query(Q)
                    .bind(cl_id.as_str())
                    .bind(&cidr)
                    .execute(pool)
                    .await?
                    .rows_affected(),
                sqlx::query_scalar(EXISTS)
                    .bind(cl_id.as_str())
                    .fetch_one(pool)
                    .await?,
            ),
            Db::Postgres(pool) => (
                sqlx::query(Q)
                    .bind(cl_id.as_str())
                    .bind(&cidr)
                    .execute(pool)
                    .await?
                    .rows_affected(),
                sqlx::query_scalar(EXISTS)
                    .bind(cl_id.as_str())
                    .fetch_one(pool)
                    .await?,
            ),
        };
        if exists == 0 {
            return Err(RegistrarStoreError::NotFound(cl_id.to_string()));
        }
        Ok(n > 0)
    }

    /// Withdraws an allowed source network. `false` if it was not allowed.
    pub async fn remove_registrar_network(
        &self,
        cl_id: &ClientId,
        net: IpNet,
    ) -> Result<bool, RegistrarStoreError> {
        const Q: &str = "DELETE FROM registrar_network WHERE cl_id = $1 AND cidr = $2";
        let cidr = normalise_net(net).to_string();
        let n = match self {
            Db::Sqlite(pool) => sqlx::query(Q)
                .bind(cl_id.as_str())
                .bind(&cidr)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Postgres(pool) => sqlx::query(Q)
                .bind(cl_id.as_str())
                .bind(&cidr)
                .execute(pool)
                .await?
                .rows_affected(),
        };
        Ok(n > 0)
    }
}
