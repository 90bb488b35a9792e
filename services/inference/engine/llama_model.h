#pragma once

// The previous name of the engine's model class, kept while callers move to TransformerModel.
#include "services/inference/engine/transformer_model.h"

namespace cai::inference {
using LlamaModel = TransformerModel;
}  // namespace cai::inference
