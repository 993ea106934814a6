// The classifier job's `problem_type`: transformers' names, or "auto" to tell from the data.

/// One label per text (softmax) or any number (sigmoid), or from the data.
public enum ClassifierProblemType: String, SettingChoice {
    /// Multi-label when any record has several labels, else single-label (or as the checkpoint says).
    case auto
    /// Softmax over the labels, cross-entropy loss.
    case singleLabel = "single_label_classification"
    /// A sigmoid per label, binary cross-entropy loss (GoEmotions).
    case multiLabel = "multi_label_classification"
}
