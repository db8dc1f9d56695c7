//! The tenant and endpoints used last, remembered so later commands (and the
//! scheduler) reach the same place without being told again.

use super::{EngineError, LocalServer};
use crate::host::settings;
use serde::{Deserialize, Serialize};

const SETTING: &str = "connection";

/// What is remembered of a connection (never a secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedConnection {
    pub tenant: Option<String>,
    pub cloud: Option<crate::entra::Cloud>,
    pub authority_host: Option<String>,
    pub graph_url: Option<String>,
    pub ca_cert: Option<std::path::PathBuf>,
}

pub fn remembered(server: &LocalServer) -> Result<RememberedConnection, EngineError> {
    let saved = server.read(|conn| settings::get(conn, SETTING))?;
    Ok(saved
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

pub fn remember(
    server: &mut LocalServer,
    connection: &RememberedConnection,
) -> Result<(), EngineError> {
    let json = serde_json::to_string(connection).unwrap_or_default();
    server.db.write(|tx| settings::set(tx, SETTING, &json))?;
    Ok(())
}
