//! Custom operations: a registry mismatch refuses to play, a small side bet works end to end, a
//! failing hook changes nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use bitcraps_game::driver::{test_keys, LocalTable, RollPlan};
use bitcraps_game::*;

/// "Next roll is a 7" at 4:1, settled by the roll hook.
struct LuckySeven;

impl CustomOperation for LuckySeven {
    fn name(&self) -> &str {
        "lucky-seven"
    }

    fn validate(
        &self,
        table: &TableData,
        config: &TableConfig,
        _author: Seat,
        payload: &[u8],
    ) -> Result<(), CustomError> {
        let amount = amount(payload)?;
        if amount < config.rules.min_bet {
            return Err(CustomError::Rejected(format!(
                "below the minimum of {}",
                config.rules.min_bet
            )));
        }
        if !table.stage().is_betting() {
            return Err(CustomError::Rejected("betting is closed".into()));
        }
        Ok(())
    }

    fn apply(
        &self,
        ctx: &mut CustomContext<'_>,
        author: Seat,
        payload: &[u8],
    ) -> Result<(), CustomError> {
        let amount = amount(payload)?;
        ctx.stake(author, amount)?;
        let total: u64 = ctx.pots().values().sum();
        ctx.set_exposure(total * 4)?;
        ctx.emit(Some(author), payload.to_vec());
        Ok(())
    }

    fn on_roll(&self, ctx: &mut CustomContext<'_>, roll: &RollReport) -> Result<(), CustomError> {
        for (seat, stake) in ctx.pots() {
            if roll.roll.total() == 7 {
                ctx.pay(seat, stake * 4)?;
                ctx.release(seat, stake)?;
            } else {
                ctx.forfeit(seat, stake)?;
            }
        }
        ctx.set_exposure(0)
    }
}

fn amount(payload: &[u8]) -> Result<u64, CustomError> {
    let bytes: [u8; 8] = payload
        .try_into()
        .map_err(|_| CustomError::Payload(format!("{} bytes, expected 8", payload.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

/// A hook that scribbles on the table, then fails.
struct Broken;

impl CustomOperation for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn validate(
        &self,
        _: &TableData,
        _: &TableConfig,
        _: Seat,
        _: &[u8],
    ) -> Result<(), CustomError> {
        Ok(())
    }
    fn apply(&self, ctx: &mut CustomContext<'_>, _: Seat, _: &[u8]) -> Result<(), CustomError> {
        ctx.set_state(vec![1]);
        Err(CustomError::Rejected("never works".into()))
    }
    fn on_roll(&self, ctx: &mut CustomContext<'_>, _: &RollReport) -> Result<(), CustomError> {
        ctx.set_state(vec![2]);
        ctx.pay(Seat(0), 1)?;
        Err(CustomError::Rejected("hook failed".into()))
    }
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::new()
            .with(Arc::new(LuckySeven))
            .unwrap()
            .with(Arc::new(Broken))
            .unwrap(),
    )
}

fn lucky(amount: u64) -> Operation {
    Operation::Custom {
        name: "lucky-seven".into(),
        payload: amount.to_be_bytes().to_vec(),
    }
}

#[test]
fn builds_with_different_registries_refuse_to_play_together() {
    let ours = registry();
    let table = LocalTable::new(4, 10_000, 1_000_000, ours.clone()).unwrap();
    let config = table.state().config().clone();
    // Another build without the broken extension.
    let theirs = Arc::new(Registry::new().with(Arc::new(LuckySeven)).unwrap());
    let err = TableState::genesis(config.clone(), theirs).unwrap_err();
    let GenesisError::RegistryMismatch {
        ref expected,
        ref local,
        ref names,
    } = err
    else {
        panic!("expected a registry mismatch, got {err:?}");
    };
    assert_ne!(expected, local);
    assert_eq!(names, "lucky-seven v1");
    let message = err.to_string();
    assert!(message.contains("cannot play together"), "{message}");
    assert!(message.contains("lucky-seven v1"), "{message}");
    // A version bump is a different registry too.
    struct LuckySevenV2;
    impl CustomOperation for LuckySevenV2 {
        fn name(&self) -> &str {
            "lucky-seven"
        }
        fn version(&self) -> u32 {
            2
        }
        fn validate(
            &self,
            _: &TableData,
            _: &TableConfig,
            _: Seat,
            _: &[u8],
        ) -> Result<(), CustomError> {
            Ok(())
        }
        fn apply(&self, _: &mut CustomContext<'_>, _: Seat, _: &[u8]) -> Result<(), CustomError> {
            Ok(())
        }
    }
    let v2 = Registry::new()
        .with(Arc::new(LuckySevenV2))
        .unwrap()
        .with(Arc::new(Broken))
        .unwrap();
    assert_ne!(v2.hash(), ours.hash());
    assert!(TableState::genesis(config.clone(), Arc::new(v2)).is_err());
    // The same registry built again agrees.
    assert!(TableState::genesis(config, registry()).is_ok());
    // Names are unique.
    assert_eq!(
        Registry::new()
            .with(Arc::new(LuckySeven))
            .unwrap()
            .with(Arc::new(LuckySeven))
            .unwrap_err(),
        RegistryError::Duplicate("lucky-seven".into())
    );
}

#[test]
fn a_custom_side_bet_is_staked_paid_and_accounted() {
    let mut t = LocalTable::new(4, 10_000, 1_000_000, registry()).unwrap();
    let events = common::ok(&mut t, Seat(1), lucky(100));
    assert!(events.contains(&Event::Custom {
        name: "lucky-seven".into(),
        seat: Some(Seat(1)),
        data: 100u64.to_be_bytes().to_vec()
    }));
    let slot = t.state().custom("lucky-seven").unwrap().clone();
    assert_eq!(slot.pots.get(&Seat(1)), Some(&100));
    assert_eq!(slot.exposure, 400);
    assert_eq!(t.state().holdings().unwrap().on_table, 100);
    let before = common::balance(&t, Seat(1));
    // Betting closes by itself (a custom stake counts as a bet on the table).
    t.play_roll(&RollPlan::dice(3, 4)).unwrap();
    assert_eq!(common::balance(&t, Seat(1)), before + 500);
    assert_eq!(t.state().custom("lucky-seven").unwrap().exposure, 0);
    common::ok(&mut t, Seat(1), lucky(100));
    t.play_roll(&RollPlan::dice(3, 3)).unwrap();
    assert_eq!(common::balance(&t, Seat(1)), before + 400);
    t.state().check_accounting().unwrap();
}

#[test]
fn custom_operations_are_checked() {
    let mut t = LocalTable::new(4, 10_000, 1_000, registry()).unwrap();
    assert!(matches!(
        common::rejected(&mut t, Seat(1), lucky(5)),
        OpError::Custom { seat: Seat(1), ref name, error: CustomError::Rejected(_) } if name == "lucky-seven"
    ));
    assert!(matches!(
        common::rejected(
            &mut t,
            Seat(1),
            Operation::Custom {
                name: "lucky-seven".into(),
                payload: vec![1, 2]
            }
        ),
        OpError::Custom {
            error: CustomError::Payload(_),
            ..
        }
    ));
    assert!(matches!(
        common::rejected(&mut t, Seat(1), lucky(20_000)),
        OpError::Custom {
            error: CustomError::InsufficientBalance { .. },
            ..
        }
    ));
    // 4 × 300 = 1,200 > the bank's 1,000.
    assert!(matches!(
        common::rejected(&mut t, Seat(1), lucky(300)),
        OpError::Custom {
            error: CustomError::BankCannotCover { .. },
            ..
        }
    ));
    assert_eq!(
        common::rejected(
            &mut t,
            Seat(1),
            Operation::Custom {
                name: "fire-bet".into(),
                payload: vec![]
            }
        ),
        OpError::UnknownCustom {
            seat: Seat(1),
            name: "fire-bet".into()
        }
    );
    // An extension that fails after changing its state: rejected, nothing changed.
    assert!(matches!(
        common::rejected(
            &mut t,
            Seat(1),
            Operation::Custom {
                name: "broken".into(),
                payload: vec![]
            }
        ),
        OpError::Custom { .. }
    ));
}

#[test]
fn a_failing_roll_hook_changes_nothing() {
    let mut t = LocalTable::with_config(
        {
            let t = LocalTable::new(4, 10_000, 1_000_000, registry()).unwrap();
            t.state().config().clone()
        },
        test_keys(4),
        registry(),
    )
    .unwrap();
    common::ok(&mut t, Seat(2), common::place(BetKind::Field, 10));
    let events = t.play_roll(&RollPlan::honest()).unwrap();
    assert!(events.contains(&Event::CustomHookFailed {
        name: "broken".into(),
        error: "hook failed".into()
    }));
    assert_eq!(t.state().custom("broken").unwrap().state, Vec::<u8>::new());
    t.state().check_accounting().unwrap();
}
