#pragma once

#include <string>

namespace cai::inference::testing {

// About 20 KB of mixed text (English prose, code, Russian, Chinese, Arabic, numbers), the
// size of the demo model's training corpus.
inline const std::string& TrainingCorpus() {
  static const std::string corpus = [] {
    const char* paragraphs[] = {
        "The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox ran "
        "into the forest where the trees were tall and the air was cold.\n",
        "In the beginning the engineers wrote the tokenizer, and the tokenizer split the text "
        "into pieces; then the model read the pieces one at a time.\n\n",
        "def encode(text):\n    ids = []\n    for piece in split(text):\n        ids += bpe(piece)\n"
        "    return ids\n\n",
        "int main(int argc, char** argv) {\n  printf(\"%d\\n\", argc);\n  return 0;\n}\n",
        "Москва — столица России. Это большой и красивый город, в котором живут миллионы людей.\n",
        "北京是中国的首都。这是一个美丽的城市，有很多历史和文化。\n",
        "القاهرة هي عاصمة مصر، وهي مدينة كبيرة وجميلة على نهر النيل.\n",
        "Prices rose 12.5% in 2023, from $1,024 to $1,152; the index hit 98765 on 2024-07-26.\n",
        "She said: \"It's what we'd hoped, isn't it?\" They'll know; I've seen it; you're right.\n",
    };
    std::string text;
    for (int round = 0; text.size() < 20000; ++round) {
      for (const char* p : paragraphs) {
        text += p;
        if (round % 3 == 1) text += "    ";
      }
      text += "Round " + std::to_string(round) + " of the story ends here.\n";
    }
    return text;
  }();
  return corpus;
}

}  // namespace cai::inference::testing
