//! What a model's `config.json` says about it: architecture, context length,
//! layer sizes, quantisation, and whether it takes images.

use serde_json::Value;

/// Characteristics read from `config.json`. Multimodal configs keep the language
/// model's numbers in `text_config`; those are used when the top level lacks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Characteristics {
    /// `model_type`.
    pub model_type: Option<String>,
    /// `architectures`.
    pub architectures: Vec<String>,
    /// `max_position_embeddings` (the context length).
    pub max_position_embeddings: Option<u64>,
    /// `num_hidden_layers`.
    pub num_hidden_layers: Option<u64>,
    /// `hidden_size`.
    pub hidden_size: Option<u64>,
    /// `vocab_size`.
    pub vocab_size: Option<u64>,
    /// `num_attention_heads`.
    pub num_attention_heads: Option<u64>,
    /// `num_key_value_heads`.
    pub num_key_value_heads: Option<u64>,
    /// `quantization.bits`.
    pub quantization_bits: Option<u64>,
    /// `quantization.group_size`.
    pub quantization_group_size: Option<u64>,
    /// Whether the config has `vision_config` or `image_token_id`.
    pub is_multimodal: bool,
}

impl Characteristics {
    /// Read them from the JSON of a `config.json` (`None` when it is not a JSON
    /// object).
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        let config: Value = serde_json::from_slice(bytes).ok()?;
        let top = config.as_object()?;
        let text = config.get("text_config");
        let number = |key: &str| {
            top.get(key)
                .and_then(Value::as_u64)
                .or_else(|| text.and_then(|t| t.get(key)).and_then(Value::as_u64))
        };
        let quantization = top
            .get("quantization")
            .or_else(|| top.get("quantization_config"));
        let quant = |key: &str| {
            quantization
                .and_then(|q| q.get(key))
                .and_then(Value::as_u64)
        };
        Some(Self {
            model_type: top
                .get("model_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            architectures: top
                .get("architectures")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            max_position_embeddings: number("max_position_embeddings"),
            num_hidden_layers: number("num_hidden_layers"),
            hidden_size: number("hidden_size"),
            vocab_size: number("vocab_size"),
            num_attention_heads: number("num_attention_heads"),
            num_key_value_heads: number("num_key_value_heads"),
            quantization_bits: quant("bits"),
            quantization_group_size: quant("group_size"),
            is_multimodal: top.contains_key("vision_config") || top.contains_key("image_token_id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantised_language_model_is_read() {
        let json = br#"{"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],
            "max_position_embeddings":32768,"num_hidden_layers":24,"hidden_size":896,
            "vocab_size":151936,"num_attention_heads":14,"num_key_value_heads":2,
            "quantization":{"bits":4,"group_size":64}}"#;
        let c = Characteristics::from_json(json).expect("object");
        assert_eq!(c.model_type.as_deref(), Some("qwen2"));
        assert_eq!(c.architectures, vec!["Qwen2ForCausalLM"]);
        assert_eq!(c.max_position_embeddings, Some(32768));
        assert_eq!(c.num_key_value_heads, Some(2));
        assert_eq!(
            (c.quantization_bits, c.quantization_group_size),
            (Some(4), Some(64))
        );
        assert!(!c.is_multimodal);
    }

    #[test]
    fn a_vision_model_is_multimodal_and_its_text_config_fills_gaps() {
        let json =
            br#"{"model_type":"qwen2_vl","vision_config":{},"text_config":{"hidden_size":1536}}"#;
        let c = Characteristics::from_json(json).expect("object");
        assert!(c.is_multimodal);
        assert_eq!(c.hidden_size, Some(1536));
        assert!(Characteristics::from_json(b"[1]").is_none());
    }
}
