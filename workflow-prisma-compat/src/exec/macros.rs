//! `on!`: runs one statement on an executor's transaction, or on the pool for its kind (`read` or
//! `write`). The statement expression is written once and typed for each connection kind.

/// `on!(executor, read | write, |e| expression using e)`.
macro_rules! on {
    ($executor:expr, $side:ident, |$e:ident| $body:expr) => {
        match &mut $executor.holder {
            $crate::exec::Holder::Tx(tx) => {
                let $e = &mut **tx;
                $body
            }
            $crate::exec::Holder::Pools { $side: pool, .. } => {
                let $e = &*pool;
                $body
            }
        }
    };
}

/// Pushes a status value (`CAST(<bind>::text AS "Status")` on PostgreSQL).
macro_rules! push_status {
    ($qb:expr, $dialect:expr, $status:expr) => {
        if $dialect == $crate::sql::Dialect::Postgres {
            $qb.push("CAST(")
                .push_bind($crate::codec::StatusText($status))
                .push("::text AS \"Status\")");
        } else {
            $qb.push_bind($crate::codec::StatusText($status));
        }
    };
}
