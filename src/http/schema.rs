//! The API document's schemas of domain types that requests and responses carry. The domain
//! knows nothing of OpenAPI: its enums are documented from their own lists of wire names, and
//! its raw inputs (the drafts an officer or worker posts) are described here, beside a test that
//! keeps each description to the fields serde reads.

use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::assessment::Side;
use crate::domain::certificate::{CertificateDraft, ContraceptionMethod, NAME_MAX_CHARS, REVOCATION_REASON_MAX_CHARS};
use crate::domain::ledger::EntryKind;
use crate::domain::marital::MaritalStatus;
use crate::domain::message::{
    Direction, EventKind, MessageBody, MessageKind, MessageState, PLACE_MAX_CHARS, PersonRefDraft, TEXT_MAX_CHARS,
};
use crate::domain::verification::VerificationStatus;
use crate::domain::worklist::Task;
use crate::seal::jws::MAX_TOKEN_LEN;
use crate::seal::{Jwk, Jwks};
use crate::sheets::Format;

/// A file's bytes, as a download answers them (an XLSX workbook).
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        string("The file's bytes.").format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))).into()
    }
}

impl ToSchema for Binary {}

/// A string schema with its description.
fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

/// A `YYYY-MM-DD` date.
fn date(description: &str) -> ObjectBuilder {
    string(description).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

/// A free text of 1 to `max` characters.
fn bounded(description: &str, max: usize) -> ObjectBuilder {
    string(description).min_length(Some(1)).max_length(Some(max))
}

/// 姓名.
fn name() -> ObjectBuilder {
    bounded("姓名, 1 to 50 characters.", NAME_MAX_CHARS)
}

/// 公民身份号码, before its check digit and dates are checked.
pub fn id_number() -> ObjectBuilder {
    string("公民身份号码 (GB 11643-1999): 17 digits and a digit or X.").pattern(Some("^[0-9]{17}[0-9Xx]$"))
}

/// A place: an address or a destination.
pub fn place() -> ObjectBuilder {
    bounded("An address or place, 1 to 200 characters.", PLACE_MAX_CHARS)
}

/// A question, an answer or a note.
pub fn text() -> ObjectBuilder {
    bounded("Free text, 1 to 2000 characters.", TEXT_MAX_CHARS)
}

/// The reason of a revocation.
pub fn reason() -> ObjectBuilder {
    bounded("注销原因, 1 to 500 characters.", REVOCATION_REASON_MAX_CHARS)
}

/// A 12-digit division code: a node, or a household registration.
pub fn division_code() -> ObjectBuilder {
    string("12-digit division code (区划代码).").pattern(Some("^[0-9]{12}$"))
}

/// QR text or a compact JWS: any text is judged, and one past the size cap is `token_too_large`.
pub fn token() -> ObjectBuilder {
    string(&format!("QR text (`HY1:…`) or compact JWS; longer than {MAX_TOKEN_LEN} bytes it is `token_too_large`."))
}

/// A string that is one of `names`.
fn one_of(description: &str, names: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    string(description).enum_values(Some(names))
}

/// An object of `properties` (name, schema, required) and no others.
fn object(description: &str, properties: Vec<(&str, RefOr<Schema>, bool)>) -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for (name, schema, required) in properties {
        object = object.property(name, schema);
        if required {
            object = object.required(name);
        }
    }
    object
}

/// Documents a string enum of the domain by its own list of wire names.
macro_rules! wire_names {
    ($($type:ty: $description:literal;)*) => {$(
        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                one_of($description, <$type>::ALL.map(<$type>::as_str)).into()
            }
        }
        impl ToSchema for $type {}
    )*};
}

wire_names! {
    MessageKind: "What a message is about: 流入登记通报, 流出通报, 协查, 答复, 信息通报, 证明换发, 证明注销.";
    MessageState: "Where a message stands: sent, receipted, answered, or overdue for its answer.";
    Direction: "`in` (received) or `out` (sent).";
    EventKind: "An event a residence reports: 生育, 结婚, 离婚, 节育服务 (with its method), 怀孕, 生殖健康检查.";
    VerificationStatus: "Overall verdict of a verification.";
    ContraceptionMethod: "避孕节育方法.";
    Task: "What a worklist item asks for: answer an inquiry, answer a birth report, see that she obtains a certificate, verify her certificate, issue or renew hers.";
    Side: "As which side a node keeps a woman: `origin` (户籍地) or `residence` (现居住地); `both` of an indicator.";
    EntryKind: "What a book entry records: 流入, 流出, 结婚, 离婚, 怀孕, 生育, 节育服务, 生殖健康检查.";
    Format: "How to answer: `json` (the default), `csv` (UTF-8 with a byte-order mark, Chinese headers) or `xlsx` (a workbook).";
}

impl PartialSchema for PersonRefDraft {
    fn schema() -> RefOr<Schema> {
        person_ref().into()
    }
}

impl ToSchema for PersonRefDraft {
    fn name() -> std::borrow::Cow<'static, str> {
        "PersonRef".into()
    }
}

/// A person as a message names her.
fn person_ref() -> ObjectBuilder {
    object(
        "A person as a message names her: ID number and name, nothing more.",
        vec![("id_number", id_number().into(), true), ("name", name().into(), true)],
    )
}

impl PartialSchema for CertificateDraft {
    fn schema() -> RefOr<Schema> {
        let person = object(
            "The holder.",
            vec![
                ("name", name().into(), true),
                ("id_number", id_number().into(), true),
                ("sex", one_of("`F` (a certificate is for women).", ["F", "M"]).into(), true),
                ("birth_date", date("出生日期; must agree with the ID number.").into(), false),
                ("hukou", division_code().description(Some("户籍地: 12-digit division code.")).into(), true),
                ("ethnicity", string("民族 code per GB 3304.").pattern(Some("^[0-9]{2}$")).into(), false),
            ],
        );
        let spouse = object(
            "配偶, required for married statuses.",
            vec![("name", name().into(), true), ("id_number", id_number().into(), true)],
        );
        let marital = object(
            "婚姻状况 and spouse.",
            vec![
                ("status", one_of("GB/T 2261.2 code.", MaritalStatus::ALL.map(|s| s.code())).into(), true),
                ("since", date("Since when the status holds.").into(), false),
                ("spouse", spouse.into(), false),
            ],
        );
        let child = object(
            "One child.",
            vec![
                ("birth_date", date("出生日期.").into(), true),
                ("sex", one_of("`F` or `M`.", ["F", "M"]).into(), true),
                ("order", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).into(), true),
            ],
        );
        let contraception = object(
            "节育措施.",
            vec![
                ("method", one_of("The method.", ContraceptionMethod::ALL.map(|m| m.as_str())).into(), true),
                ("since", date("Since when.").into(), false),
            ],
        );
        object(
            "Certificate content as an officer posts it (the payload objects without the claims the node sets).",
            vec![
                ("person", person.into(), true),
                ("marital", marital.into(), true),
                ("children", ArrayBuilder::new().items(child).description(Some("生育状况.")).into(), false),
                ("contraception", contraception.into(), false),
            ],
        )
        .into()
    }
}

impl ToSchema for CertificateDraft {}

impl PartialSchema for MessageBody {
    fn schema() -> RefOr<Schema> {
        // Open to other properties: it is flattened into the objects that carry it.
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The content of a message: its kind, and the body of that kind (`schemas/message.schema.json`).",
            ))
            .property("kind", MessageKind::schema())
            .required("kind")
            .property("body", ObjectBuilder::new().schema_type(Type::Object))
            .required("body")
            .into()
    }
}

impl ToSchema for MessageBody {}

impl PartialSchema for Jwk {
    fn schema() -> RefOr<Schema> {
        object(
            "A public key (RFC 7517, OKP per RFC 8037).",
            vec![
                ("kty", string("`OKP`.").into(), true),
                ("crv", string("`Ed25519`.").into(), true),
                ("x", string("The public key, base64url.").into(), true),
                ("kid", string("`<node code>#<key id>`.").into(), true),
                ("alg", string("`EdDSA`.").into(), false),
                ("use", string("`sig`.").into(), false),
            ],
        )
        .into()
    }
}

impl ToSchema for Jwk {}

impl PartialSchema for Jwks {
    fn schema() -> RefOr<Schema> {
        object("A JWK set.", vec![("keys", ArrayBuilder::new().items(Jwk::schema()).into(), true)]).into()
    }
}

impl ToSchema for Jwks {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    /// Property names of a documented object, with those of the objects it holds, as dotted paths.
    fn documented(schema: &Value, at: &str, into: &mut BTreeSet<String>) {
        let object = if schema["type"] == "array" { &schema["items"] } else { schema };
        for (name, property) in object["properties"].as_object().into_iter().flatten() {
            let path = format!("{at}{name}");
            documented(property, &format!("{path}."), into);
            into.insert(path);
        }
    }

    /// Field names of a value as serde writes it, likewise.
    fn written(value: &Value, at: &str, into: &mut BTreeSet<String>) {
        let value = value.as_array().and_then(|items| items.first()).unwrap_or(value);
        for (name, field) in value.as_object().into_iter().flatten() {
            let path = format!("{at}{name}");
            written(field, &format!("{path}."), into);
            into.insert(path);
        }
    }

    fn same_fields(schema: RefOr<Schema>, sample: Value) {
        let (mut doc, mut serde) = (BTreeSet::new(), BTreeSet::new());
        documented(&serde_json::to_value(schema).unwrap(), "", &mut doc);
        written(&sample, "", &mut serde);
        assert_eq!(doc, serde);
    }

    #[test]
    fn documented_drafts_have_exactly_the_fields_serde_reads() {
        // The demo's second person fills every optional field.
        let draft: CertificateDraft = serde_json::from_value(crate::demo::sample_people().swap_remove(1).1).unwrap();
        same_fields(CertificateDraft::schema(), serde_json::to_value(&draft).unwrap());
        let person = serde_json::json!({ "id_number": "130728199003070026", "name": "张丽" });
        serde_json::from_value::<PersonRefDraft>(person.clone()).unwrap();
        same_fields(PersonRefDraft::schema(), person);
        let key = crate::seal::Ed25519Signer::ephemeral("130728102000").unwrap();
        same_fields(Jwk::schema(), serde_json::to_value(crate::seal::Signer::public_jwk(&key)).unwrap());
    }

    #[test]
    fn enums_are_documented_by_their_wire_names() {
        let schema = serde_json::to_value(MessageKind::schema()).unwrap();
        let names: Vec<&str> = schema["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(names, MessageKind::ALL.map(MessageKind::as_str));
    }
}
