//! DescribeAcls (key 29), CreateAcls (30) and DeleteAcls (31), v1–3: Cairn
//! has no authorizer yet, so each answers SECURITY_DISABLED, as a Kafka
//! broker without `authorizer.class.name` does — per creation and per
//! filter, so a client sees why each of its entries was refused — rather than
//! closing the connection, which clients report as a network error.

use bytes::Bytes;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::DeleteAclsFilterResult;
use kafka_protocol::messages::{
    ApiKey, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_now, Pending};
use crate::error_code;

/// What every ACL request is told.
const NO_AUTHORIZER: &str = "no authorizer is configured on this broker (ACLs are not served yet)";

fn reason() -> Option<StrBytes> {
    Some(StrBytes::from_static_str(NO_AUTHORIZER))
}

/// Handles DescribeAcls.
pub fn handle_describe_acls(header: &RequestHeader, body: &mut Bytes) -> Pending {
    answer_now(
        ApiKey::DescribeAcls,
        header,
        body,
        |_: DescribeAclsRequest| {
            DescribeAclsResponse::default()
                .with_error_code(error_code::SECURITY_DISABLED)
                .with_error_message(reason())
        },
    )
}

/// Handles CreateAcls.
pub fn handle_create_acls(header: &RequestHeader, body: &mut Bytes) -> Pending {
    answer_now(
        ApiKey::CreateAcls,
        header,
        body,
        |request: CreateAclsRequest| {
            CreateAclsResponse::default().with_results(
                request
                    .creations
                    .iter()
                    .map(|_| {
                        AclCreationResult::default()
                            .with_error_code(error_code::SECURITY_DISABLED)
                            .with_error_message(reason())
                    })
                    .collect(),
            )
        },
    )
}

/// Handles DeleteAcls.
pub fn handle_delete_acls(header: &RequestHeader, body: &mut Bytes) -> Pending {
    answer_now(
        ApiKey::DeleteAcls,
        header,
        body,
        |request: DeleteAclsRequest| {
            DeleteAclsResponse::default().with_filter_results(
                request
                    .filters
                    .iter()
                    .map(|_| {
                        DeleteAclsFilterResult::default()
                            .with_error_code(error_code::SECURITY_DISABLED)
                            .with_error_message(reason())
                    })
                    .collect(),
            )
        },
    )
}
