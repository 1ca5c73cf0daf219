//! CloudTrail records of the seven model-registry calls: the call itself, then one decoder per call for
//! what its parameters say.

use super::{
    ApiCall, ApiCallName, CAMEL_LIFECYCLE, CLOUDTRAIL_EVENT_SOURCE, DecodeError, EventOrigin,
    FailedCall, GroupCreated, GroupDeleted, GroupPolicyDeleted, GroupPolicyPut, PackageCreated,
    PackageDeleted, PackageUpdated, RegistryEvent, group_of, lifecycle,
};
use crate::json_access::{Fields, shorten};
use crate::model_package::{
    ApprovalStatus, ModelPackageArn, ModelPackageGroupArn, ModelPackageGroupName,
};

/// `requestParameters` / `responseElements`, read as empty when CloudTrail sent `null` or nothing, so a
/// missing parameter is reported by its full path.
fn parameters<'a>(detail: &Fields<'a>, key: &str) -> Result<Fields<'a>, DecodeError> {
    match detail.object(key)? {
        Some(fields) => Ok(fields),
        None => Ok(Fields::empty_at(detail.path_of(key))),
    }
}

/// A CloudTrail record of one of the seven calls: what CloudTrail says about the call, then the event
/// its parameters describe (a failed call is acknowledged without reading them).
pub(super) fn decode_api_call(
    origin: EventOrigin,
    detail: &Fields<'_>,
) -> Result<RegistryEvent, DecodeError> {
    let call = decode_call(detail)?;
    if let Some(error_code) = detail.string("errorCode")? {
        return Ok(RegistryEvent::IgnoredFailedCall(FailedCall {
            origin,
            call,
            error_code: error_code.to_owned(),
            error_message: detail.string("errorMessage")?.map(str::to_owned),
        }));
    }
    let request = parameters(detail, "requestParameters")?;
    let response = parameters(detail, "responseElements")?;
    Ok(match call.name {
        ApiCallName::CreateModelPackageGroup => group_created(origin, call, &request, &response)?,
        ApiCallName::DeleteModelPackageGroup => RegistryEvent::GroupDeleted(GroupDeleted {
            origin,
            call,
            group_name: required_group_name(&request)?,
        }),
        ApiCallName::CreateModelPackage => package_created(origin, call, &request, &response)?,
        ApiCallName::UpdateModelPackage => package_updated(origin, call, &request, &response)?,
        ApiCallName::DeleteModelPackage => RegistryEvent::PackageDeleted(PackageDeleted {
            origin,
            call,
            package_arn: request.required_parsed("modelPackageName", ModelPackageArn::parse)?,
        }),
        ApiCallName::PutModelPackageGroupPolicy => RegistryEvent::GroupPolicyPut(GroupPolicyPut {
            origin,
            call,
            group_name: required_group_name(&request)?,
            resource_policy: request.string("resourcePolicy")?.map(str::to_owned),
        }),
        ApiCallName::DeleteModelPackageGroupPolicy => {
            RegistryEvent::GroupPolicyDeleted(GroupPolicyDeleted {
                origin,
                call,
                group_name: required_group_name(&request)?,
            })
        }
    })
}

/// The call itself: a SageMaker call govsync listens to, with its id, time and caller.
fn decode_call(detail: &Fields<'_>) -> Result<ApiCall, DecodeError> {
    let event_source = detail.required_string("eventSource")?;
    if event_source != CLOUDTRAIL_EVENT_SOURCE {
        return Err(DecodeError::WrongEventSource {
            found: shorten(event_source),
        });
    }
    let event_name = detail.required_string("eventName")?;
    let name = ApiCallName::parse(event_name).ok_or_else(|| DecodeError::UnsupportedEventName {
        found: shorten(event_name),
    })?;
    let caller_arn = match detail.object("userIdentity")? {
        Some(identity) => identity.string("arn")?.map(str::to_owned),
        None => None,
    };
    Ok(ApiCall {
        name,
        event_id: detail.required_string("eventID")?.to_owned(),
        event_time: detail.time("eventTime")?,
        caller_arn,
        request_id: detail.string("requestID")?.map(str::to_owned),
    })
}

/// `modelPackageGroupName`, which the group calls take as a name or an ARN.
fn required_group_name(fields: &Fields<'_>) -> Result<ModelPackageGroupName, DecodeError> {
    fields.required_parsed(
        "modelPackageGroupName",
        ModelPackageGroupName::parse_name_or_arn,
    )
}

/// `CreateModelPackageGroup`: the name comes from the response's ARN when the request does not carry it.
fn group_created(
    origin: EventOrigin,
    call: ApiCall,
    request: &Fields<'_>,
    response: &Fields<'_>,
) -> Result<RegistryEvent, DecodeError> {
    let group_arn = response.parsed("modelPackageGroupArn", ModelPackageGroupArn::parse)?;
    let group_name = match (&group_arn, request.has("modelPackageGroupName")) {
        (Some(arn), false) => arn.group_name().clone(),
        _ => required_group_name(request)?,
    };
    Ok(RegistryEvent::GroupCreated(GroupCreated {
        origin,
        call,
        group_name,
        group_arn,
        description: request
            .string("modelPackageGroupDescription")?
            .map(str::to_owned),
    }))
}

/// `CreateModelPackage`: the new package's ARN is in the response; its group defaults to the ARN's.
fn package_created(
    origin: EventOrigin,
    call: ApiCall,
    request: &Fields<'_>,
    response: &Fields<'_>,
) -> Result<RegistryEvent, DecodeError> {
    let package_arn = response.required_parsed("modelPackageArn", ModelPackageArn::parse)?;
    let group_name = group_of(
        &package_arn,
        request.parsed(
            "modelPackageGroupName",
            ModelPackageGroupName::parse_name_or_arn,
        )?,
    );
    Ok(RegistryEvent::PackageCreated(PackageCreated {
        origin,
        call,
        group_name,
        approval: request.parsed("modelApprovalStatus", ApprovalStatus::parse)?,
        lifecycle: lifecycle(request, "modelLifeCycle", &CAMEL_LIFECYCLE)?,
        customer_metadata: request.string_map("customerMetadataProperties")?,
        description: request
            .string("modelPackageDescription")?
            .map(str::to_owned),
        package_arn,
    }))
}

/// `UpdateModelPackage`: the package's ARN is in the request, else in the response; a missing one is
/// reported at the request's path.
fn package_updated(
    origin: EventOrigin,
    call: ApiCall,
    request: &Fields<'_>,
    response: &Fields<'_>,
) -> Result<RegistryEvent, DecodeError> {
    let package_arn = match request.parsed("modelPackageArn", ModelPackageArn::parse)? {
        Some(arn) => arn,
        None => response
            .parsed("modelPackageArn", ModelPackageArn::parse)?
            .ok_or_else(|| DecodeError::MissingField {
                field: request.path_of("modelPackageArn"),
            })?,
    };
    Ok(RegistryEvent::PackageUpdated(PackageUpdated {
        origin,
        call,
        package_arn,
        approval: request.parsed("modelApprovalStatus", ApprovalStatus::parse)?,
        approval_description: request.string("approvalDescription")?.map(str::to_owned),
        lifecycle: lifecycle(request, "modelLifeCycle", &CAMEL_LIFECYCLE)?,
        customer_metadata: request.string_map("customerMetadataProperties")?,
        customer_metadata_to_remove: request.string_list("customerMetadataPropertiesToRemove")?,
    }))
}
