//! The engine's named values ([`Named`]: `--cloud`, `--sign-in`, `--store`) as
//! command-line values, with the words `--help`, the completions and the man
//! page show for each. The engine's other inputs (`Upn`, `Tenant`, ...) need
//! nothing here: clap parses them through `FromStr`.

use crate::domain::{Cloud, Named, SignInAnswer};
use crate::keys::StoreChoice;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use std::ffi::OsStr;
use std::marker::PhantomData;
use std::str::FromStr;

/// A named value as the command line offers it.
pub(crate) trait Choice: Named + FromStr<Err: std::error::Error> {
    /// What `--help` says of this value, if anything.
    fn help(self) -> Option<&'static str> {
        None
    }
}

impl Choice for Cloud {}

impl Choice for SignInAnswer {
    fn help(self) -> Option<&'static str> {
        match self {
            SignInAnswer::DeviceCode => None,
            SignInAnswer::Password => {
                Some("The password is read from standard input, never from the file")
            }
            SignInAnswer::Browser => Some(
                "In a browser (authorization code with PKCE), for tenants that block the device code: the redirect comes back to 127.0.0.1, or paste the address the browser ended on",
            ),
        }
    }
}

impl Choice for StoreChoice {
    fn help(self) -> Option<&'static str> {
        Some(match self {
            StoreChoice::Auto => {
                "The TPM when one answers, else the software store (warning event 1014)"
            }
            StoreChoice::Tpm => "The TPM, or an error saying why there is none",
            StoreChoice::Software => "The software store (an owner-only key file)",
        })
    }
}

/// The value parser of a [`Choice`]: `#[arg(value_parser = one_of::<Cloud>())]`.
pub(crate) fn one_of<T: Choice>() -> OneOf<T> {
    OneOf(PhantomData)
}

#[derive(Clone)]
pub(crate) struct OneOf<T>(PhantomData<fn() -> T>);

impl<T: Choice> OneOf<T> {
    fn values() -> impl Iterator<Item = PossibleValue> {
        T::ALL
            .iter()
            .map(|&value| PossibleValue::new(value.name()).help(value.help()))
    }
}

impl<T: Choice> TypedValueParser for OneOf<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        // Lossy, as clap's own enum parser: text that is not UTF-8 matches no
        // name and is refused like any other unknown value (the argument, the
        // names it takes, the nearest one).
        let text = value.to_string_lossy();
        let name = PossibleValuesParser::new(Self::values()).parse_ref(
            cmd,
            arg,
            OsStr::new(text.as_ref()),
        )?;
        name.parse()
            .map_err(|error| clap::Error::raw(ErrorKind::InvalidValue, error).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppId, CertificateDays, EndpointUrl, Tenant, Upn};
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Args {
        #[arg(long, value_parser = one_of::<Cloud>())]
        cloud: Option<Cloud>,
        #[arg(long, value_parser = one_of::<StoreChoice>(), default_value_t = StoreChoice::Auto)]
        store: StoreChoice,
    }

    #[test]
    fn choices_parse_by_name_and_list_their_names_when_refused() {
        let args = Args::try_parse_from(["x", "--cloud", "usgov", "--store", "tpm"]).unwrap();
        assert_eq!(
            (args.cloud, args.store),
            (Some(Cloud::Usgov), StoreChoice::Tpm)
        );
        let args = Args::try_parse_from(["x"]).unwrap();
        assert_eq!((args.cloud, args.store), (None, StoreChoice::Auto));

        let error = Args::try_parse_from(["x", "--cloud", "usgob"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidValue);
        assert_eq!(error.exit_code(), 2);
        let message = error.to_string();
        assert!(
            message.contains("invalid value 'usgob' for '--cloud <CLOUD>'")
                && message.contains("[possible values: public, usgov, china]")
                && message.contains("tip: a similar value exists: 'usgov'"),
            "{message}"
        );
        // Names are exact, as the answers file and the database have them.
        assert!(Args::try_parse_from(["x", "--store", "TPM"]).is_err());
    }

    #[test]
    fn every_value_is_offered_with_its_help() {
        use clap::CommandFactory;
        let command = Args::command();
        let offered = |id: &str| -> Vec<(String, Option<String>)> {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_possible_values()
                .iter()
                .map(|v| {
                    (
                        v.get_name().to_string(),
                        v.get_help().map(|h| h.to_string()),
                    )
                })
                .collect()
        };
        let names = |values: Vec<(String, Option<String>)>| -> Vec<String> {
            values.into_iter().map(|(name, _)| name).collect()
        };
        assert_eq!(names(offered("cloud")), ["public", "usgov", "china"]);
        let store = offered("store");
        assert_eq!(names(store.clone()), ["auto", "tpm", "software"]);
        assert!(store.iter().all(|(_, help)| help.is_some()), "{store:?}");
    }

    #[test]
    fn clap_refuses_with_the_message() {
        #[derive(Parser, Debug)]
        struct Args {
            #[arg(long)]
            upn: Upn,
            #[arg(long)]
            tenant: Tenant,
            #[arg(long)]
            app_id: Option<AppId>,
            #[arg(long)]
            authority: Option<EndpointUrl>,
            #[arg(long, default_value_t)]
            days: CertificateDays,
        }
        let args = Args::try_parse_from([
            "x",
            "--upn",
            "admin@contoso.onmicrosoft.com",
            "--tenant",
            "Contoso.com",
            "--authority",
            "http://127.0.0.1:8080",
        ])
        .unwrap();
        assert_eq!(args.tenant.as_str(), "contoso.com");
        assert_eq!(args.days.get(), 180);
        assert!(args.app_id.is_none());
        assert_eq!(args.authority.unwrap().as_str(), "http://127.0.0.1:8080/");

        let error = Args::try_parse_from(["x", "--upn", "a@b", "--tenant", "common"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().contains("is not a user principal name"),
            "{error}"
        );
        let error = Args::try_parse_from([
            "x",
            "--upn",
            "admin@contoso.com",
            "--tenant",
            "contoso.com",
            "--days",
            "731",
        ])
        .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("from 1 to 730"), "{error}");
    }
}
