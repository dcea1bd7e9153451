// Redocly lint rules for mlx-manager's OpenAPI document, beyond the built-in ones.
// Each rule checks something a generated client or a Swagger UI user would trip
// over. They apply to every operation: new endpoints pass them or fix the code.

const COMPONENT_SCHEMA = /^#\/components\/schemas\/[^/]+$/;
const API_ERROR_REF = '#/components/schemas/ApiError';
// The OpenAI-compatible gateway (`/v1`) answers in OpenAI's error shape, which
// OpenAI SDKs parse (API.md), and its bodies are the OpenAI API's own, passed
// through unchanged: any JSON, typed by the OpenAI SDKs rather than by ours.
const OPENAI_ERROR_REF = '#/components/schemas/GatewayError';
const GATEWAY = /^#\/paths\/~1v1~1/;
const PASS_THROUGH = /^#\/(paths\/~1v1~1|components\/schemas\/Gateway(Request|Upload)\/)/;
const ANNOTATIONS = new Set(['description', 'title', 'example', 'deprecated', 'readOnly', 'writeOnly', 'nullable', 'default']);
const SHAPES = ['type', 'allOf', 'oneOf', 'anyOf', 'not', 'enum'];

const isErrorStatus = (code) => /^[45]\d\d$/.test(code) || /^[45]XX$/i.test(code);

/** Every operation has exactly one tag (Swagger UI groups by it; hey-api names by it). */
function OperationTagged() {
  return {
    Operation(op, ctx) {
      if (!Array.isArray(op.tags) || op.tags.length !== 1) {
        ctx.report({ message: 'Operation must have exactly one tag.', location: ctx.location.key() });
      }
    },
  };
}

/** Responses other than 204/304 have content, and every media type has a schema. */
function ResponseHasSchema() {
  return {
    Response(response, ctx) {
      const status = String(ctx.key);
      if (status === '204' || status === '304') return;
      if (!response.content || Object.keys(response.content).length === 0) {
        ctx.report({ message: `Response ${status} must describe its body (content with a schema).`, location: ctx.location.key() });
      }
    },
    MediaType(media, ctx) {
      if (!media.schema) {
        ctx.report({ message: 'Media type must have a schema.', location: ctx.location.key() });
      }
    },
  };
}

/**
 * Every 4xx/5xx response body is the shared `ApiError` schema (`{detail, code}`);
 * on the gateway's operations it is `GatewayError` (`{error: {message, type, param, code}}`).
 */
function ErrorResponsesUseApiError() {
  return {
    Response: {
      enter(response, ctx) {
        const key = String(ctx.key);
        if (!isErrorStatus(key)) return;
        const content = response.content ?? {};
        const media = Object.entries(content);
        const expected = GATEWAY.test(ctx.location.pointer) ? OPENAI_ERROR_REF : API_ERROR_REF;
        const ok = media.length > 0 && media.every(([type, m]) => type.startsWith('application/json') && m.schema?.$ref === expected);
        if (!ok) {
          ctx.report({
            message: `Error response ${key} must have a JSON body whose schema is $ref ${expected}.`,
            location: ctx.location.key(),
          });
        }
      },
    },
  };
}

/** An operation with security documents its 401 (who are you?) answer. */
function SecuredOperationHas401() {
  return {
    Operation(op, ctx) {
      const secured = Array.isArray(op.security) && op.security.some((req) => Object.keys(req).length > 0);
      if (secured && !(op.responses && '401' in op.responses)) {
        ctx.report({ message: 'A protected operation must document its 401 response.', location: ctx.location.child('responses').key() });
      }
    },
  };
}

/** Enums are named component schemas, so that generated clients get one named type. */
function NoInlineEnum() {
  return {
    Schema(schema, ctx) {
      if (schema.enum === undefined) return;
      if (!COMPONENT_SCHEMA.test(ctx.location.pointer)) {
        ctx.report({
          message: 'Enums must be named schemas under #/components/schemas (derive poem_openapi::Enum), not inline.',
          location: ctx.location.child('enum').key(),
        });
      }
    },
  };
}

/**
 * No schema is `{}` (any value) or a bare `{type: object}` without properties:
 * a generated client would type it `unknown`. The annotation-only member of
 * poem-openapi's `allOf: [{$ref}, {description}]` (a doc comment on a field whose
 * type is a named schema) is allowed. So is any JSON where the gateway passes
 * the OpenAI API's own bodies through (`PASS_THROUGH`).
 */
function NoUntypedSchema() {
  return {
    Schema(schema, ctx) {
      if (PASS_THROUGH.test(ctx.location.pointer)) return;
      const keys = Object.keys(schema);
      const hasShape = SHAPES.some((k) => k in schema);
      if (!hasShape) {
        const annotationOnly = keys.every((k) => ANNOTATIONS.has(k));
        const inAllOf = /\/allOf\/\d+$/.test(ctx.location.pointer);
        if (annotationOnly && inAllOf) return;
        ctx.report({ message: 'Schema has no type: describe its shape (a generated client would type it `unknown`).', location: ctx.location.key() });
        return;
      }
      if (schema.type === 'object' && !schema.properties && !schema.allOf && !schema.oneOf && !schema.anyOf) {
        const ap = schema.additionalProperties;
        if (ap === undefined || ap === true || (typeof ap === 'object' && Object.keys(ap).length === 0)) {
          ctx.report({ message: 'Object schema has neither properties nor typed additionalProperties.', location: ctx.location.key() });
        }
      }
    },
  };
}

export default function mlxRules() {
  return {
    id: 'mlx',
    rules: {
      oas3: {
        'operation-tagged': OperationTagged,
        'response-has-schema': ResponseHasSchema,
        'error-responses-use-api-error': ErrorResponsesUseApiError,
        'secured-operation-has-401': SecuredOperationHas401,
        'no-inline-enum': NoInlineEnum,
        'no-untyped-schema': NoUntypedSchema,
      },
    },
  };
}
