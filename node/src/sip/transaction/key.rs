//! Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).

use smol_str::SmolStr;

use crate::sip::header::Via;
use crate::sip::message::{Method, Request, Response};

/// Identifies a server transaction.
///
/// With an RFC 3261 branch the key is branch + sent-by + method, where ACK counts as INVITE
/// so the ACK for a non-2xx finds its INVITE transaction. Requests without the magic cookie
/// (RFC 2543 peers) fall back to Request-URI, From tag, Call-ID, CSeq number and top Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// RFC 3261 matching.
    Branch {
        /// Top Via branch (inline up to 23 bytes, as ours and sipp's are: no allocation
        /// per key or per copy of it).
        branch: SmolStr,
        /// Top Via sent-by, lowercased.
        sent_by: SmolStr,
        /// Transaction method (ACK folded into INVITE).
        method: Method,
    },
    /// RFC 2543 fallback matching.
    Legacy {
        /// Request-URI text.
        uri: String,
        /// From tag.
        from_tag: String,
        /// Call-ID.
        call_id: String,
        /// CSeq number.
        seq: u32,
        /// Top Via text.
        via: String,
        /// Transaction method (ACK folded into INVITE).
        method: Method,
    },
}

impl ServerKey {
    /// The key of the transaction this request belongs to, or `None` if headers are unusable.
    pub(crate) fn for_request(req: &Request) -> Option<Self> {
        let method = match &req.method {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        Self::with_method(req, method)
    }

    /// The key of the INVITE transaction a CANCEL targets (same branch, method INVITE).
    pub(crate) fn invite_for_cancel(cancel: &Request) -> Option<Self> {
        Self::with_method(cancel, Method::Invite)
    }

    fn with_method(req: &Request, method: Method) -> Option<Self> {
        let via = req.headers.top_via().ok()?;
        if let Some(branch) = via.rfc3261_branch() {
            return Some(Self::Branch {
                branch: SmolStr::new(branch),
                sent_by: via.sent_by(),
                method,
            });
        }
        Some(Self::Legacy {
            uri: req.uri.to_string(),
            from_tag: req
                .headers
                .from()
                .ok()?
                .tag()
                .unwrap_or_default()
                .to_owned(),
            call_id: req.headers.call_id().ok()?.to_owned(),
            seq: req.headers.cseq().ok()?.seq,
            via: via.to_string(),
            method,
        })
    }
}

/// Identifies a client transaction: top Via branch plus CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    /// Our own branch: 23 bytes, inline.
    branch: SmolStr,
    method: Method,
}

impl ClientKey {
    /// The key a request creates; `None` without an RFC 3261 branch.
    pub(crate) fn for_request(req: &Request) -> Option<Self> {
        let via = req.headers.top_via().ok()?;
        Self::from_via(via, req.method.clone())
    }

    /// The key a response matches.
    pub(crate) fn for_response(resp: &Response) -> Option<Self> {
        let via = resp.headers.top_via().ok()?;
        let cseq = resp.headers.cseq().ok()?;
        Self::from_via(via, Method::parse(&cseq.method).ok()?)
    }

    fn from_via(via: &Via, method: Method) -> Option<Self> {
        let branch = SmolStr::new(via.rfc3261_branch()?);
        Some(Self { branch, method })
    }
}
