//! Extension codecs: one module per extension namespace. The command and response codecs
//! hand every child of `<extension>` to [`decode_command_extension`] /
//! [`decode_response_extension`], which dispatch on the namespace; adding an extension is a new
//! module plus one arm in each function below.
