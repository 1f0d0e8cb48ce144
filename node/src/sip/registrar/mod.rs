//! Registrar logic (RFC 3261 §10.3) with the DHT as location service, pure and storage-free.
//!
//! The caller fetches the stored [`Binding`]s for the AOR's key, calls [`plan_register`],
//! applies the returned [`BindingOp`]s to the DHT (put with TTL = expiry, remove), and sends
//! [`register_ok`] (or the error's status via [`register_error_response`]).
//!
//! # Who may refresh or remove a binding
//!
//! A binding is owned by the registration that created it: the same Call-ID (RFC 3261 asks
//! a UA to keep one Call-ID for all REGISTERs to a registrar) or the same `+sip.instance`
//! (RFC 5626: a device identity that survives restarts). Only the owner may refresh, remove
//! (`expires=0`) or wildcard-remove (`Contact: *`) it; anyone may add a binding of their own.
//! We chose this over credentials because SCOPE has no shared user database yet, and over
//! "anyone may change anything" (plain RFC 3261) because any super-node accepts REGISTERs
//! from anywhere: it stops one device, or a stranger, from deleting another device's binding.
//! A restarted device without an instance id simply adds a new binding under its new
//! Call-ID; the old one expires by itself, and duplicates of one contact are listed once.
//! `Contact: *` therefore removes the requester's own bindings and leaves other devices'.
//! This is not authentication: whoever learns a Call-ID can act as its owner; digest
//! authentication is later work.

mod aor;
mod binding;

pub use aor::Aor;
pub use binding::{Binding, MAX_RECORD};

use super::build::response_for;
use super::error::RegisterError;
use super::header::{Contact, HeaderName, NameAddr, name};
use super::message::{Request, Response};

/// Registrar settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// The overlay domain (`--sip-domain`), the host part of every AOR.
    pub domain: String,
    /// Super-node addresses (`host` or `host:port`) that also count as the overlay.
    pub super_nodes: Vec<String>,
    /// Shortest expiry accepted; shorter ones get 423 (RFC 3261 §10.3 step 7).
    pub min_expires: u32,
    /// Longest expiry granted; longer requests are shortened.
    pub max_expires: u32,
    /// Expiry when the request names none.
    pub default_expires: u32,
}

impl Default for RegistrarConfig {
    /// Domain `scope`, 60 s minimum, 3600 s default and maximum.
    fn default() -> Self {
        Self {
            domain: "scope".to_owned(),
            super_nodes: Vec::new(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
        }
    }
}

/// A change to apply to the DHT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingOp {
    /// Store this binding with TTL `ttl` seconds.
    Put {
        /// The new or refreshed binding.
        binding: Binding,
        /// Seconds until it expires.
        ttl: u32,
    },
    /// Remove this stored binding.
    Remove(Binding),
}

/// What a REGISTER asks for, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterPlan {
    /// The canonical AOR.
    pub aor: Aor,
    /// Its DHT key.
    pub key: [u8; 20],
    /// DHT changes, in order (removals of replaced bindings come before their puts).
    pub ops: Vec<BindingOp>,
    /// The live bindings after the changes, for the 200 OK.
    pub bindings: Vec<Binding>,
}

/// The identity of the registering device, taken from the request.
struct Requester<'a> {
    call_id: &'a str,
    cseq: u32,
    instance: Option<String>,
}

/// Checks a REGISTER against the stored bindings and computes the DHT changes.
///
/// `existing` are the bindings read from the DHT for the AOR (expired ones are ignored);
/// `now_unix` is wall-clock time supplied by the caller.
pub fn plan_register(
    request: &Request,
    existing: &[Binding],
    config: &RegistrarConfig,
    now_unix: u64,
) -> Result<RegisterPlan, RegisterError> {
    let aor = overlay_aor(request, config)?;
    let contacts = request
        .headers
        .contacts()
        .map_err(|_| RegisterError::BadContact)?;
    let header_expires = request
        .headers
        .expires()
        .map_err(|_| RegisterError::BadContact)?;
    let requester = Requester::of(request)?;
    let mut plan = RegisterPlan {
        key: aor.dht_key(),
        aor,
        ops: Vec::new(),
        bindings: existing
            .iter()
            .filter(|b| b.remaining(now_unix) > 0)
            .cloned()
            .collect(),
    };
    let Some(addrs) = addresses(contacts)? else {
        if header_expires != Some(0) {
            return Err(RegisterError::BadWildcard);
        }
        remove_owned(&mut plan, &requester)?;
        return Ok(plan);
    };
    let expiries = expiries(&addrs, header_expires, config)?;
    for (addr, expiry) in addrs.iter().zip(expiries) {
        let instance = addr.params.get_unquoted("+sip.instance").map(str::to_owned);
        let requester = Requester {
            instance,
            ..requester
        };
        apply_contact(&mut plan, &requester, addr, expiry, now_unix)?;
    }
    Ok(plan)
}

/// The contact addresses, or `None` for `Contact: *`, which must stand alone (§10.3 step 6).
fn addresses(contacts: Vec<&Contact>) -> Result<Option<Vec<&NameAddr>>, RegisterError> {
    if contacts.contains(&&Contact::Wildcard) {
        return if contacts.len() == 1 {
            Ok(None)
        } else {
            Err(RegisterError::BadWildcard)
        };
    }
    Ok(Some(
        contacts
            .into_iter()
            .filter_map(|c| match c {
                Contact::Addr(a) => Some(a),
                Contact::Wildcard => None,
            })
            .collect(),
    ))
}

/// The AOR of the To header, after checking that To and the Request-URI are in the overlay.
fn overlay_aor(request: &Request, config: &RegistrarConfig) -> Result<Aor, RegisterError> {
    let to = request.headers.to().map_err(|_| RegisterError::BadAor)?;
    let aor = Aor::from_uri(&to.uri, config)?;
    let ruri = request.uri.as_sip().ok_or(RegisterError::NotOverlay)?;
    if !config.is_overlay(ruri) {
        return Err(RegisterError::NotOverlay);
    }
    Ok(aor)
}

impl<'a> Requester<'a> {
    /// Call-ID and CSeq of the request; the instance is per contact.
    fn of(request: &'a Request) -> Result<Self, RegisterError> {
        Ok(Self {
            call_id: request
                .headers
                .call_id()
                .map_err(|_| RegisterError::BadContact)?,
            cseq: request
                .headers
                .cseq()
                .map_err(|_| RegisterError::BadContact)?
                .seq,
            instance: None,
        })
    }

    fn owns(&self, binding: &Binding) -> bool {
        binding.owned_by(self.call_id, self.instance.as_deref())
    }

    /// A new binding owned by this requester, checked to fit in a DHT value.
    fn binding(
        &self,
        contact: String,
        reg_id: Option<u32>,
        expires_at: u64,
    ) -> Result<Binding, RegisterError> {
        let binding = Binding {
            contact,
            expires_at,
            call_id: self.call_id.to_owned(),
            cseq: self.cseq,
            instance: self.instance.clone(),
            reg_id,
        };
        binding.encode()?;
        Ok(binding)
    }

    /// RFC 3261 §10.3 step 7: the same Call-ID must come with a higher CSeq.
    fn check_order(&self, binding: &Binding) -> Result<(), RegisterError> {
        if binding.call_id == self.call_id && self.cseq <= binding.cseq {
            return Err(RegisterError::OutOfOrder);
        }
        Ok(())
    }
}

/// Expiry of each contact: its `expires` param, else the Expires header, else the default;
/// 423 when any non-zero value is below the minimum, capped at the maximum.
fn expiries(
    addrs: &[&NameAddr],
    header: Option<u32>,
    config: &RegistrarConfig,
) -> Result<Vec<u32>, RegisterError> {
    addrs
        .iter()
        .map(|a| {
            let wanted = a.expires().or(header).unwrap_or(config.default_expires);
            if wanted != 0 && wanted < config.min_expires {
                return Err(RegisterError::IntervalTooBrief {
                    requested: wanted,
                    min: config.min_expires,
                });
            }
            Ok(wanted.min(config.max_expires))
        })
        .collect()
}

/// `Contact: *`: removes every live binding the requester owns.
fn remove_owned(plan: &mut RegisterPlan, who: &Requester<'_>) -> Result<(), RegisterError> {
    let (mine, others): (Vec<_>, Vec<_>) = plan.bindings.drain(..).partition(|b| who.owns(b));
    mine.iter().try_for_each(|b| who.check_order(b))?;
    plan.ops.extend(mine.into_iter().map(BindingOp::Remove));
    plan.bindings = others;
    Ok(())
}

/// Adds, refreshes or removes the binding for one contact.
///
/// A binding is the same target when both carry the same instance and reg-id, else when the
/// contact URIs match; only an owned one is replaced or removed.
fn apply_contact(
    plan: &mut RegisterPlan,
    who: &Requester<'_>,
    addr: &NameAddr,
    expiry: u32,
    now_unix: u64,
) -> Result<(), RegisterError> {
    let contact = addr.uri.to_string();
    let reg_id = addr
        .params
        .get("reg-id")
        .flatten()
        .and_then(|v| v.parse().ok());
    let same_target = |b: &Binding| match (&who.instance, &b.instance) {
        (Some(i), Some(j)) => i == j && reg_id == b.reg_id,
        _ => b.contact.eq_ignore_ascii_case(&contact),
    };
    if let Some(i) = plan
        .bindings
        .iter()
        .position(|b| same_target(b) && who.owns(b))
    {
        who.check_order(&plan.bindings[i])?;
        plan.ops.push(BindingOp::Remove(plan.bindings.remove(i)));
    } else if expiry == 0 && plan.bindings.iter().any(same_target) {
        return Err(RegisterError::NotOwner);
    }
    if expiry > 0 {
        let binding = who.binding(contact, reg_id, now_unix + u64::from(expiry))?;
        plan.bindings.push(binding.clone());
        plan.ops.push(BindingOp::Put {
            binding,
            ttl: expiry,
        });
    }
    Ok(())
}

/// The 200 OK listing every current binding with its remaining time (RFC 3261 §10.3 step 8);
/// a contact registered by several devices is listed once, with the longest expiry.
#[must_use]
pub fn register_ok(
    request: &Request,
    bindings: &[Binding],
    now_unix: u64,
    to_tag: &str,
) -> Response {
    let mut resp = response_for(request, 200, "OK", Some(to_tag));
    let mut listed: Vec<(&str, u64, &Binding)> = Vec::new();
    for b in bindings.iter().filter(|b| b.remaining(now_unix) > 0) {
        match listed
            .iter_mut()
            .find(|(c, _, _)| c.eq_ignore_ascii_case(&b.contact))
        {
            Some(entry) => entry.1 = entry.1.max(b.remaining(now_unix)),
            None => listed.push((&b.contact, b.remaining(now_unix), b)),
        }
    }
    for (contact, remaining, b) in listed {
        // Written piece by piece into one buffer: `format!` allocated once per piece.
        let instance = b.instance.as_deref().unwrap_or_default();
        let mut value = String::with_capacity(contact.len() + instance.len() + 64);
        value.push('<');
        value.push_str(contact);
        value.push_str(">;expires=");
        value.push_str(itoa::Buffer::new().format(remaining));
        if b.instance.is_some() {
            value.push_str(";+sip.instance=\"");
            value.push_str(instance);
            value.push('"');
        }
        if let Some(r) = b.reg_id {
            value.push_str(";reg-id=");
            value.push_str(itoa::Buffer::new().format(r));
        }
        resp.headers
            .push(HeaderName::from_static(name::CONTACT), value);
    }
    resp
}

/// The response for a refused REGISTER; 423 carries Min-Expires (RFC 3261 §10.3 step 7).
#[must_use]
pub fn register_error_response(request: &Request, error: &RegisterError, to_tag: &str) -> Response {
    let reason = match error.status_code() {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        423 => "Interval Too Brief",
        _ => "Server Internal Error",
    };
    let mut resp = response_for(request, error.status_code(), reason, Some(to_tag));
    if let RegisterError::IntervalTooBrief { min, .. } = error {
        resp.headers
            .push(HeaderName::from_static(name::MIN_EXPIRES), min.to_string());
    }
    resp
}

#[cfg(test)]
mod tests;
