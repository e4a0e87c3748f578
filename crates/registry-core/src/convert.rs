//! Stored values back into `epp-proto` types. Stored data was checked on the way in, so a
//! failure here means a corrupt row: [`CoreError::Corrupt`] (2400).

use epp_proto::{
    ClientId, ContactId, HostName, MsgId, Roid, StatusEntry, TransferData, TransferStatus,
};

use crate::error::CoreError;
use crate::model::{StatusRec, TransferRec};

fn corrupt(what: &str, v: &str) -> CoreError {
    CoreError::Corrupt(format!("stored {what} {v:?} is invalid"))
}

pub(crate) fn client_id(s: &str) -> Result<ClientId, CoreError> {
    ClientId::new(s).map_err(|_| corrupt("clID", s))
}

pub(crate) fn host_name(s: &str) -> Result<HostName, CoreError> {
    HostName::new(s).map_err(|_| corrupt("name", s))
}

pub(crate) fn contact_id(s: &str) -> Result<ContactId, CoreError> {
    ContactId::new(s).map_err(|_| corrupt("contact id", s))
}

pub(crate) fn roid(s: &str) -> Result<Roid, CoreError> {
    Roid::new(s).map_err(|_| corrupt("roid", s))
}

pub(crate) fn msg_id(n: i64) -> Result<MsgId, CoreError> {
    MsgId::new(&n.to_string()).map_err(|_| corrupt("msgID", &n.to_string()))
}

pub(crate) fn statuses<S: Copy>(
    list: &[StatusRec],
    parse: impl Fn(&str) -> Option<S>,
) -> Result<Vec<StatusEntry<S>>, CoreError> {
    list.iter()
        .map(|r| {
            let status = parse(&r.s).ok_or_else(|| corrupt("status", &r.s))?;
            Ok(StatusEntry {
                status,
                lang: r.lang.clone(),
                reason: r.reason.clone(),
            })
        })
        .collect()
}

pub(crate) fn transfer_data(object: &str, t: &TransferRec) -> Result<TransferData, CoreError> {
    Ok(TransferData {
        object: object.to_owned(),
        tr_status: TransferStatus::from_token(&t.status)
            .ok_or_else(|| corrupt("trStatus", &t.status))?,
        re_id: client_id(&t.re_id)?,
        re_date: t.re_date,
        ac_id: client_id(&t.ac_id)?,
        ac_date: t.ac_date,
        ex_date: t.ex_date,
    })
}
