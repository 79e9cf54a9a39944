// Copied by web/vendor.sh from schemas/*.schema.json (the contract): do not edit.

export const certificate = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://hunyu.invalid/schemas/certificate.schema.json",
  "title": "婚育证明 — marriage-and-childbearing certificate payload",
  "description": "Payload of a hunyu-certificate+jwt (DESIGN §5). Field names are the contract between jurisdictions: new optional fields may be added, none renamed, so unknown fields are allowed everywhere.",
  "type": "object",
  "required": [
    "iss",
    "jti",
    "ver",
    "iat",
    "nbf",
    "exp",
    "person",
    "marital",
    "children"
  ],
  "properties": {
    "iss": {
      "$ref": "#/$defs/division",
      "description": "12-digit code of the issuing node"
    },
    "jti": {
      "type": "string",
      "format": "uuid",
      "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    },
    "ver": {
      "type": "integer",
      "minimum": 1
    },
    "iat": {
      "$ref": "#/$defs/numericDate"
    },
    "nbf": {
      "$ref": "#/$defs/numericDate"
    },
    "exp": {
      "$ref": "#/$defs/numericDate"
    },
    "supersedes": {
      "type": "string",
      "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
      "description": "jti of the version this one replaces"
    },
    "person": {
      "type": "object",
      "required": [
        "name",
        "id_number",
        "sex",
        "birth_date",
        "hukou"
      ],
      "properties": {
        "name": {
          "$ref": "#/$defs/name"
        },
        "id_number": {
          "$ref": "#/$defs/idNumber"
        },
        "sex": {
          "const": "F"
        },
        "birth_date": {
          "$ref": "#/$defs/date"
        },
        "hukou": {
          "$ref": "#/$defs/division"
        },
        "ethnicity": {
          "type": "string",
          "pattern": "^(0[1-9]|[1-4][0-9]|5[0-6]|9[78])$"
        }
      }
    },
    "marital": {
      "type": "object",
      "required": [
        "status"
      ],
      "properties": {
        "status": {
          "enum": [
            "10",
            "20",
            "21",
            "22",
            "23",
            "30",
            "40",
            "90"
          ]
        },
        "since": {
          "$ref": "#/$defs/date"
        },
        "spouse": {
          "type": "object",
          "required": [
            "name",
            "id_number"
          ],
          "properties": {
            "name": {
              "$ref": "#/$defs/name"
            },
            "id_number": {
              "$ref": "#/$defs/idNumber"
            }
          }
        }
      }
    },
    "children": {
      "type": "array",
      "maxItems": 20,
      "items": {
        "type": "object",
        "required": [
          "birth_date",
          "sex",
          "order"
        ],
        "properties": {
          "birth_date": {
            "$ref": "#/$defs/date"
          },
          "sex": {
            "enum": [
              "F",
              "M"
            ]
          },
          "order": {
            "type": "integer",
            "minimum": 1
          }
        }
      }
    },
    "contraception": {
      "type": "object",
      "required": [
        "method"
      ],
      "properties": {
        "method": {
          "enum": [
            "none",
            "iud",
            "implant",
            "injection",
            "pill",
            "condom",
            "tubal_ligation",
            "vasectomy",
            "other"
          ]
        },
        "since": {
          "$ref": "#/$defs/date"
        }
      }
    },
    "status": {
      "type": "object",
      "description": "Entry in the issuer's status list",
      "required": [
        "url",
        "index"
      ],
      "properties": {
        "url": {
          "type": "string",
          "format": "uri"
        },
        "index": {
          "type": "integer",
          "minimum": 0
        }
      }
    }
  },
  "$defs": {
    "division": {
      "type": "string",
      "pattern": "^[1-8][0-9]{11}$"
    },
    "idNumber": {
      "type": "string",
      "pattern": "^[1-8][0-9]{16}[0-9X]$"
    },
    "date": {
      "type": "string",
      "format": "date",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    },
    "name": {
      "type": "string",
      "minLength": 1,
      "maxLength": 50
    },
    "numericDate": {
      "type": "integer",
      "minimum": 0
    }
  }
};

export const statusList = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://hunyu.invalid/schemas/status-list.schema.json",
  "title": "证明状态清单 — status list payload",
  "description": "Payload of a hunyu-status+jwt: the issuing node's certificate versions that are revoked or superseded. It names versions by jti only, never persons. Verifiers cache it and fetch a new one after exp.",
  "type": "object",
  "required": [
    "iss",
    "iat",
    "exp",
    "entries"
  ],
  "properties": {
    "iss": {
      "type": "string",
      "pattern": "^[1-8][0-9]{11}$"
    },
    "iat": {
      "type": "integer",
      "minimum": 0
    },
    "exp": {
      "type": "integer",
      "minimum": 0
    },
    "entries": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "jti",
          "status"
        ],
        "properties": {
          "jti": {
            "type": "string",
            "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
          },
          "status": {
            "enum": [
              "revoked",
              "superseded"
            ]
          }
        },
        "additionalProperties": false
      }
    }
  },
  "additionalProperties": false
};

export const directory = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://hunyu.invalid/schemas/directory.schema.json",
  "title": "信任名录 — trust directory payload",
  "description": "Payload of a hunyu-directory+jwt, signed by the registry root key: every node, where it listens, the TLS certificate it presents to peers, and the keys it signs with and when. Verifiers keep using a directory past exp, with a warning.",
  "type": "object",
  "required": [
    "iss",
    "iat",
    "exp",
    "serial",
    "nodes"
  ],
  "properties": {
    "iss": {
      "type": "string",
      "pattern": "^[0-9]{12}$",
      "description": "code of the registry"
    },
    "iat": {
      "type": "integer",
      "minimum": 0
    },
    "exp": {
      "type": "integer",
      "minimum": 0,
      "description": "end of the stated lifetime"
    },
    "serial": {
      "type": "integer",
      "minimum": 1,
      "description": "grows with every publication"
    },
    "nodes": {
      "type": "array",
      "items": {
        "$ref": "#/$defs/node"
      }
    }
  },
  "$defs": {
    "node": {
      "type": "object",
      "required": [
        "code",
        "name",
        "api_url",
        "peer_url",
        "tls_sha256",
        "status",
        "keys"
      ],
      "properties": {
        "code": {
          "type": "string",
          "pattern": "^[1-8][0-9]{11}$"
        },
        "name": {
          "type": "string",
          "minLength": 1,
          "maxLength": 100
        },
        "api_url": {
          "type": "string",
          "pattern": "^https?://"
        },
        "peer_url": {
          "type": "string",
          "pattern": "^https://"
        },
        "tls_sha256": {
          "type": "string",
          "pattern": "^[0-9a-f]{64}$",
          "description": "SHA-256 of the DER certificate the node presents on its peer listener and as a client"
        },
        "status": {
          "enum": [
            "active",
            "retired"
          ]
        },
        "keys": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/key"
          }
        }
      }
    },
    "key": {
      "type": "object",
      "description": "A public JWK (RFC 7517/8037) with the window in which the key may sign",
      "required": [
        "kty",
        "crv",
        "x",
        "kid",
        "not_before"
      ],
      "properties": {
        "kty": {
          "const": "OKP"
        },
        "crv": {
          "const": "Ed25519"
        },
        "x": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{43}$"
        },
        "kid": {
          "type": "string",
          "pattern": "^[0-9]{12}#[A-Za-z0-9_-]+$"
        },
        "alg": {
          "enum": [
            "EdDSA",
            "Ed25519"
          ]
        },
        "use": {
          "const": "sig"
        },
        "not_before": {
          "type": "integer"
        },
        "not_after": {
          "type": "integer"
        },
        "compromised_at": {
          "type": "integer"
        }
      }
    }
  }
};
