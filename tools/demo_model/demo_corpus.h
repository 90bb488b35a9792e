#pragma once

// Training text for the demo tokenizer: original prose, so the tokenizer learns ordinary English
// merges. The demo model's weights are random; it never learns anything from this text.
namespace cai::demo {

inline constexpr char kDemoCorpus[] = R"(Verifiable computing asks a simple question: how can you trust a result that was computed on a machine you do not control? For a long time the answer was that you could not. You sent your data to a server, the server sent an answer back, and you hoped that the operator ran the program it promised to run. Hope is not a security property.

There are two broad ways to replace hope with evidence. The first is mathematical. A prover runs the computation and produces a short proof that the output follows from the input and the program. The verifier checks the proof with far less work than running the program again. Proof systems of this kind have become much faster over the last decade, but proving a large neural network is still slow and expensive.

The second way is hardware. A trusted execution environment is a region of a processor, or a whole virtual machine, whose memory is encrypted and whose contents the host cannot read or change. When the environment starts, the processor measures the code that was loaded into it. Later the environment can ask the processor for a signed report, called a quote, that contains those measurements and a few bytes chosen by the software inside. A remote party checks the signature against the certificate chain of the vendor, compares the measurements with the values it expects, and reads the chosen bytes.

Those chosen bytes are what make the report useful. If the software inside the environment generates a signing key and places the public half of that key in the report, then anyone who checks the report learns that the key lives inside a genuine environment running the measured code. Every answer signed with the key inherits that assurance. The client does not need to trust the operator, the cloud provider, or the network in between. It needs to trust the hardware vendor and the code that was measured.

Graphics processors joined this model recently. A modern accelerator can run in a confidential mode in which its memory is protected and the traffic between the processor and the accelerator is encrypted. The accelerator produces its own signed evidence, bound to a fresh nonce, so a verifier can check that a real device in the right mode is attached to the environment. With both pieces of evidence, a language model can serve requests inside a protected machine, and a user can check that the prompt and the answer were never visible to anyone else.

Good evidence is only half of the story. The other half is a design that keeps the trusted part small. A public web server parses untrusted requests all day, so it should never hold the private key. A separate signing service holds the key, signs only what it is asked to sign, and refuses to export the key through any interface. The model server sees prompts and weights but has no reason to reach the network. Each part does one job, and each boundary is a place where a mistake stays contained.

A careful verifier checks everything it can. It checks that the quote is well formed and that every signature in the chain is valid. It checks that the trusted computing base is up to date. It checks that the nonce it sent is the nonce in the report, so an old report cannot be replayed. It checks that the signing address in the report matches the address that signed the answer. It checks that the hash of the request and the hash of the response match the bytes it actually sent and received. Only then does it say that the answer was produced by the service it meant to talk to.

None of this makes the model itself correct. A verified answer can still be wrong, because the model can be wrong. What verification gives you is provenance: this text came from this model, running this code, on this kind of machine, for this request, and nobody in the middle changed it. That is a narrower promise than truth, but it is a promise you can check with your own tools, and that is what makes it worth having.

The quick brown fox jumps over the lazy dog. Numbers appear too: 1, 2, 3, 10, 42, 100, 2024, 3.14, and 65536. So do questions, answers, lists, and short replies. Hello! How are you today? I am fine, thank you. What is the capital of France? Paris is the capital of France. Please summarize the text above in one sentence.
)";

}  // namespace cai::demo
